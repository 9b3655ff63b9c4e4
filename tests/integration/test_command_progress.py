"""Long commands show progress: plain "n/N …" lines when stdout is not a terminal (a log, a
pipe, call_command), a bar on a terminal, nothing at `-v 0` or for a short run."""

from __future__ import annotations

import io
import json
import time

import pytest
from django.core.management import call_command

from safari_auto import progress
from sora.models import Trilogy

pytestmark = pytest.mark.django_db


def _batch(tmp_path, count: int):
    trilogies = [
        {"id": f"saga_{n}", "title": f"Saga {n}", "videos": [{"part": 1, "prompt": f"p{n}"}]}
        for n in range(1, count + 1)
    ]
    path = tmp_path / "batch.json"
    path.write_text(json.dumps({"trilogies": trilogies}))
    return path


def _import(path, *options: str) -> str:
    out = io.StringIO()
    call_command("sora", *options, "import", str(path), stdout=out)
    return out.getvalue()


def test_a_long_import_prints_a_line_every_tenth_of_the_way(tmp_path):
    lines = _import(_batch(tmp_path, 40)).splitlines()

    shown = [line for line in lines if line.endswith("trilogies imported")]
    assert shown == [f"{n}/40 trilogies imported" for n in range(4, 41, 4)]
    assert lines[-1] == "40 trilogies created, 0 updated"
    assert Trilogy.objects.count() == 40


def test_an_import_is_quiet_at_verbosity_0_and_when_short(tmp_path):
    assert _import(_batch(tmp_path, 40), "-v", "0") == "40 trilogies created, 0 updated\n"
    assert _import(_batch(tmp_path, 5)) == "0 trilogies created, 5 updated\n"


def test_on_a_terminal_the_progress_is_a_bar_not_lines():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    with progress.Progress(screen, what="items done") as shown:
        for done in range(1, 31):
            shown.step(done, 30)
    assert "/30 items done" not in screen.getvalue()
    assert shown.bar is not None
    assert shown.bar.finished


def test_a_heartbeat_says_a_run_is_alive_until_it_ends():
    out = io.StringIO()
    with progress.heartbeat(out, what="bench x", every=0.05):
        time.sleep(0.18)
    beats = out.getvalue().splitlines()
    assert len(beats) >= 2
    assert all(b.startswith("bench x: still running (") for b in beats)
    time.sleep(0.1)
    assert out.getvalue().splitlines() == beats  # nothing after the end
    quiet = io.StringIO()
    with progress.heartbeat(quiet, what="bench x", every=0.01, verbosity=0):
        time.sleep(0.05)
    assert quiet.getvalue() == ""
