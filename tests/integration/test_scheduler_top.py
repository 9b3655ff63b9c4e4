"""`manage.py scheduler top`: the PRD's dashboard in the terminal."""

import os
import signal
import subprocess
import sys
import time
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from scheduler import events, services

pytestmark = pytest.mark.django_db


def test_one_frame_shows_resources_queue_and_activity_in_words():
    services.task_schedule(type="check", name="tidy the inbox")
    events.record(
        "platform.paused", subject="platform", message="by you", data={"platform": "tiktok"}
    )
    out = StringIO()
    call_command("scheduler", "top", "--once", stdout=out)
    text = out.getvalue()
    for heading in (
        "Safari Auto — scheduler",
        "Platforms",
        "Sora credits",
        "Queue",
        "Recent activity",
    ):
        assert heading in text
    assert "tidy the inbox" in text
    assert "Queued: tidy the inbox" in text
    assert "TikTok paused: by you" in text


def _as_a_background_job() -> None:
    """What a shell does to a command it starts with `&`: Ctrl-C (SIGINT) is ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _as_a_foreground_job() -> None:
    """As typed at a terminal (whatever this test run itself inherited)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("background", [False, True], ids=["foreground", "background"])
def test_top_refreshes_until_interrupted_then_exits_cleanly(tmp_path, background):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "safari_auto.settings",
        "DATA_DIR": str(tmp_path),
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=settings.BASE_DIR,
        env=env,
        check=True,
        timeout=120,
    )
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "scheduler", "top", "--interval", "0.2"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # Either way the view leaves on Ctrl-C: it used to inherit SIGINT ignored and run on.
        preexec_fn=_as_a_background_job if background else _as_a_foreground_job,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()  # printed once Django is up, before the live view starts
    assert b"Ctrl-C to quit" in first, proc.stderr.read().decode() if proc.stderr else ""
    time.sleep(1)
    assert proc.poll() is None
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err.decode()
    assert b"Recent activity" in out
    assert b"Bye." in out
