"""Operator tools: the crm_apikey command and the benchmark module."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from benchmarks import crm as bench
from crm.models import ApiKey
from crm.services import apikey_authenticate

pytestmark = pytest.mark.django_db


def test_crm_apikey_creates_lists_and_revokes():
    out = io.StringIO()
    call_command("crm_apikey", "create", "--name", "ops", stdout=out)
    raw = out.getvalue().split(": ")[1].split()[0]
    assert apikey_authenticate(raw_key=raw) is not None
    out = io.StringIO()
    call_command("crm_apikey", "list", stdout=out)
    prefix = ApiKey.objects.get().prefix
    assert f"{prefix}  ops  active" in out.getvalue()
    call_command("crm_apikey", "revoke", prefix, stdout=io.StringIO())
    assert apikey_authenticate(raw_key=raw) is None
    with pytest.raises(CommandError):
        call_command("crm_apikey", "revoke", "nothing-like-this")


def test_the_benchmark_reports_its_figures_on_a_small_run():
    out = io.StringIO()
    figures = bench.run(
        stdout=out,
        options={"conversations": 30, "messages": 150, "batch": 10, "contacts": 60, "searches": 5},
    )
    assert figures["sync_counts"]["messages_synced"] == 150
    assert figures["resync_idempotent"] is True
    assert figures["contacts"] == 60
    assert figures["search_p95_ms"] > 0
    assert "Search p50" in out.getvalue()
