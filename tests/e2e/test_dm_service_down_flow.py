"""A DM service killed while the system runs (real processes: daphne, qcluster, the dispatcher,
the simulator): within one probe interval the platform shows "service down since …" in the API
and on the dashboard; a DM queued meanwhile waits with that reason and burns no retry; once the
service is back on its port the DM goes out, exactly once."""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from typing import Any

import pytest
import requests

from tests import dm_factories as s
from tests.e2e.harness import System

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PLATFORM = "tiktok"
SIM_PORT = 3002  # TikTok's DM simulator, before the test's port offset
INTERVAL = 5.0  # seconds between probes while the service is up
SLACK = 4.0  # a dispatcher cycle (1 s here) plus a worker's pickup on a busy 2-core machine


def _platform(system: System) -> dict[str, Any]:
    items = system.api("GET", "/api/resources/platforms").json()["platforms"]
    return next(i for i in items if i["platform"] == PLATFORM)


def _down(system: System) -> dict[str, Any] | None:
    """The platform shown down, with its health and its pause. (The API reads the limit row
    and the pause in separate queries: one read may catch the pause but not yet the row.)"""
    item = _platform(system)
    reason = item["waitReason"] or ""
    shown = not item["isReady"] and item["healthy"] is False and item["healthPause"]
    return item if shown and "service down since" in reason else None


def _dashboard(system: System) -> requests.Session:
    """A browser's session on the dashboard: logged in through the admin login page."""
    session = requests.Session()
    login = f"{system.base}/admin/login/"
    session.get(login, timeout=10)
    answer = session.post(
        login,
        data={
            "username": "admin",
            "password": "e2e-pass-123",
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
            "next": "/",
        },
        headers={"Referer": login},
        timeout=10,
    )
    assert answer.ok, answer.status_code
    assert "/admin/login/" not in answer.url, answer.url
    return session


def _dashboard_card(session: requests.Session, system: System) -> str:
    """The platform's card in the dashboard's resources section, as the page patches it in."""
    answer = session.get(f"{system.base}/dashboard/fragments", timeout=10)
    assert answer.status_code == 200, answer.text[:300]
    html = str(answer.json()["fragments"]["resources"])
    card = re.search(rf'<li class="platform [^"]*" data-platform="{PLATFORM}">.*?</li>', html, re.S)
    assert card is not None, html
    return card.group(0)


def _deliveries(url: str, username: str) -> list[dict[str, Any]]:
    sent = requests.get(f"{url}/_sim/sent", timeout=5).json()
    return [d for d in sent if d["username"] == username]


def _restart_simulator(system: System, url: str) -> None:
    offset = int(url.rsplit(":", 1)[1]) - SIM_PORT
    system.spawn(
        "simulate-again",
        sys.executable,
        "manage.py",
        "simulate",
        "--port-offset",
        str(offset),
        "--only",
        PLATFORM,
        "--reply-probability",
        "0",
    )


def _up(url: str) -> bool:
    try:
        return requests.get(f"{url}/health", timeout=1).ok
    except requests.RequestException:
        return False


def test_a_killed_dm_service_shows_down_holds_its_dms_and_sends_them_once_when_back(tmp_path):
    system, url = s.start_dm_system(
        tmp_path,
        PLATFORM,
        DM_PROBE_INTERVAL_SECONDS=str(INTERVAL),
        DM_PROBE_BACKOFF_BASE_SECONDS="1",
        DM_PROBE_BACKOFF_CAP_SECONDS="2",
    )
    try:
        system.wait_for(lambda: _platform(system)["isReady"], 30, "the lead's probe to see it")
        dashboard = _dashboard(system)
        assert "status-ready" in _dashboard_card(dashboard, system)

        simulator = system.procs["simulate"]
        os.killpg(simulator.pid, signal.SIGKILL)
        simulator.wait(timeout=10)
        killed = time.monotonic()
        down = system.wait_for(lambda: _down(system), INTERVAL + SLACK, "the API to show it down")
        seen_after = time.monotonic() - killed
        print(f"shown down {seen_after:.1f} s after the kill (probe interval {INTERVAL} s)")
        assert "service down since" in down["healthPause"]
        system.wait_for(
            lambda: "service down since" in _dashboard_card(dashboard, system),
            SLACK,
            "the dashboard to show it down",
        )

        answer = system.api(
            "POST",
            "/api/dm/send",
            json={"platform": PLATFORM, "username": "patient_pal", "text": "still there?"},
            headers={"Idempotency-Key": "down-1"},
        )
        assert answer.status_code == 201, answer.text
        task_id = answer.json()["taskId"]
        waiting = system.wait_for(
            lambda: "service down" in ((t := system.task(task_id))["waitReason"] or "") and t,
            10,
            "the DM to wait with the service's reason",
        )
        time.sleep(3 * 2)  # several backed-off probes (1-2 s) find it still down
        waiting = system.task(task_id)
        assert waiting["status"] == "pending", waiting
        assert waiting["retryCount"] == 0, waiting
        assert "service down" in waiting["waitReason"], waiting
        assert not _platform(system)["isReady"]

        _restart_simulator(system, url)
        system.wait_for(lambda: _up(url), 20, "the simulator back on its port")
        done = system.wait_status(task_id, {"completed", "failed"}, timeout=30)
        assert done["status"] == "completed", done
        assert done["retryCount"] == 0, done
        assert len(_deliveries(url, "patient_pal")) == 1
        system.wait_for(lambda: _platform(system)["isReady"], 10, "the platform ready again")
        time.sleep(1)  # nothing more goes out
        assert len(_deliveries(url, "patient_pal")) == 1
    finally:
        system.stop()
