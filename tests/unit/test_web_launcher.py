"""`python -m safari_auto.web` refuses a WEB_PROCESSES it cannot use, saying why."""

import pytest

from safari_auto import web


def test_a_bad_process_count_is_refused_with_the_reason(monkeypatch):
    for raw, why in (("two", "whole number"), ("0", "between 1 and 64")):
        monkeypatch.setenv("WEB_PROCESSES", raw)
        with pytest.raises(SystemExit, match=why):
            web.processes()


def test_the_default_is_two_processes_or_one_on_a_one_core_machine(monkeypatch):
    monkeypatch.delenv("WEB_PROCESSES", raising=False)
    monkeypatch.setattr(web.os, "cpu_count", lambda: 1)
    assert web.processes() == 1
    monkeypatch.setattr(web.os, "cpu_count", lambda: 8)
    assert web.processes() == 2
