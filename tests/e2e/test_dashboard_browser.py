"""The dashboard in headless Chromium against the running system (daphne, workers, dispatcher)."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from benchmarks.chaos.runner import sigkill_tree
from tests.e2e.harness import CHROMIUM, CHROMIUM_ARGS, ROOT, free_offset, simulator_url

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SHOTS = ROOT / "artifacts" / "screenshots"


@pytest.fixture
def chromium():
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing: install Debian's chromium package"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_dashboard(chromium, system, **context_options):
    """Log in through the admin login, land on the dashboard, wait for the socket."""
    page = chromium.new_context(**context_options).new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on(
        "console",
        lambda msg: (
            problems.append(f"console {msg.type}: {msg.text} at {msg.location}")
            if msg.type == "error"
            else None
        ),
    )
    page.on(
        "response",
        lambda answer: (
            problems.append(f"HTTP {answer.status} {answer.url}") if answer.status >= 400 else None
        ),
    )
    page.goto(f"{system.base}/")
    assert "/admin/login/" in page.url
    page.fill("#id_username", "admin")
    page.fill("#id_password", "e2e-pass-123")
    page.click("input[type=submit]")
    page.wait_for_url(f"{system.base}/")
    live(page)
    page.evaluate("window.__sameDocument = true")
    return page, problems


def live(page, timeout=10_000):
    page.wait_for_selector("#live[data-state=connected]", timeout=timeout)


def shot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def schedule(system, **body):
    answer = system.api("POST", "/api/scheduler/task", json={"type": "check", **body})
    assert answer.status_code == 201, answer.text
    return answer.json()["taskId"]


def later(seconds):
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def row(page, task_id, where="ol.tasks"):
    return page.locator(f'{where} [data-task-id="{task_id}"]')


def test_a_task_runs_live_and_the_controls_work(system, chromium):
    system.start_all()
    page, problems = open_dashboard(chromium, system)

    # Pending to completed, live: SCHEDULED (in a few s), then RUNNING, then COMPLETED.
    task = schedule(system, name="watch me", scheduledFor=later(3), payload={"seconds": 1.5})
    row(page, task).and_(page.locator('[data-state="SCHEDULED"]')).wait_for(timeout=5000)
    assert re.search(r"in \ds|now", row(page, task).inner_text())
    shot(page, "01-scheduled")
    row(page, task).and_(page.locator('[data-state="RUNNING"]')).wait_for(timeout=10_000)
    shot(page, "02-running")
    row(page, task, "ul.finished").and_(page.locator('[data-state="COMPLETED"]')).wait_for(
        timeout=15_000
    )
    finished = page.locator(f'#feed li:has-text("Completed: watch me"):has-text("#{task}")')
    assert finished.count() == 1
    # The feed reads as sentences; raw kinds are behind the details toggle.
    assert not finished.locator("code").is_visible()
    claimed = page.locator(f'#feed li.kind-task-claimed:has-text("#{task}")').first
    assert not claimed.is_visible()
    page.check("#feed-details")
    assert finished.locator("code").inner_text() == "task.completed"
    assert claimed.is_visible()
    page.uncheck("#feed-details")
    assert row(page, task).count() == 0
    shot(page, "03-completed")

    # Pause and resume the scheduler.
    page.click("[data-action=pause-scheduler]")
    page.locator("#header .sched:has-text('scheduler paused')").wait_for(timeout=5000)
    assert system.api("GET", "/api/scheduler/status").json()["isPaused"] is True
    shot(page, "04-paused")
    page.click("[data-action=resume-scheduler]")
    page.locator("#header .sched:has-text('scheduler running')").wait_for(timeout=5000)
    assert system.api("GET", "/api/scheduler/status").json()["isPaused"] is False

    # Cancel a task that waits for its time.
    doomed = schedule(system, name="cancel me", scheduledFor=later(3600))
    row(page, doomed).wait_for(timeout=5000)
    row(page, doomed).locator("[data-action=cancel]").click()
    row(page, doomed, "ul.finished").and_(page.locator('[data-state="CANCELLED"]')).wait_for(
        timeout=5000
    )
    assert system.task(doomed)["status"] == "cancelled"

    # Decide a parked send: block a task the way a handler does, then "Mark sent".
    parked = schedule(system, name="parked send", scheduledFor=later(3600))
    system.manage(
        "shell",
        "-c",
        (
            "from scheduler.lifecycle import transition;"
            f"transition({parked}, source=['pending'], target='blocked', kind='task.blocked',"
            " message='send outcome unknown', wait_reason='send outcome unknown')"
        ),
    )
    blocked = row(page, parked).and_(page.locator('[data-state="NEEDS YOU"]'))
    blocked.wait_for(timeout=5000)
    assert "send outcome unknown" in blocked.inner_text()
    shot(page, "05-needs-you")
    blocked.get_by_role("button", name="Mark sent").click()
    row(page, parked, "ul.finished").and_(page.locator('[data-state="COMPLETED"]')).wait_for(
        timeout=5000
    )
    assert system.task(parked)["status"] == "completed"

    assert page.evaluate("window.__sameDocument") is True  # all of it without a reload
    assert problems == []


def test_it_shows_disconnected_and_catches_up_after_a_restart(system, chromium):
    system.start_all()
    page, problems = open_dashboard(chromium, system, viewport={"width": 390, "height": 844})
    # Phone width: nothing sticks out sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(page, "06-phone")

    system.procs["web"].terminate()
    system.procs["web"].wait(timeout=15)
    page.wait_for_selector("#live[data-state=disconnected]", timeout=10_000)
    assert "disconnected" in page.inner_text("#live")
    shot(page, "07-disconnected")
    missed = (
        system.manage(
            "shell",
            "-c",
            (
                "from scheduler import services;"
                "t, _ = services.task_schedule(type='check', name='made while offline',"
                " scheduled_for=__import__('django.utils.timezone').utils.timezone.now()"
                " + __import__('datetime').timedelta(hours=1));print(t.pk)"
            ),
        )
        .strip()
        .splitlines()[-1]
    )
    system.start_web()
    live(page, timeout=40_000)  # the backoff may be a few seconds by now
    page.locator('#feed li:has-text("Queued: made while offline")').wait_for(timeout=5000)
    row(page, missed).wait_for(timeout=5000)
    shot(page, "08-caught-up")
    assert page.evaluate("window.__sameDocument") is True
    # The failed socket handshakes and fetches while daphne was down are the browser's own
    # network errors, not the page's.
    assert [p for p in problems if "ERR_CONNECTION_REFUSED" not in p and "WebSocket" not in p] == []


def host_state(system, host="local"):
    hosts = system.api("GET", "/api/scheduler/status").json().get("safariHosts", [])
    return next((h["state"] for h in hosts if h["host"] == host), None)


def test_the_feed_shows_a_mac_going_offline_and_sora_events_as_sentences(system, chromium):
    """Real events, live: the workers' whole process tree SIGKILLed (the host goes offline
    after its lease), started again (online), and a Sora credit check against the simulator."""
    offset = free_offset(["sora"])
    system.env["SORA_URL"] = simulator_url("sora", offset)
    system.env["SCHEDULER_HOST_LEASE_SECONDS"] = "2"
    system.start_simulators(["sora"], offset)
    system.start_all()
    page, problems = open_dashboard(chromium, system)
    system.wait_for(lambda: host_state(system) == "online", 60, "the host's workers online")

    sigkill_tree(system, "workers")
    offline = page.locator('#feed li.kind-host-offline:has-text("Host local offline since")')
    offline.wait_for(timeout=20_000)
    system.start_workers()
    online = page.locator('#feed li.kind-host-online:has-text("Host local: ")')
    online.last.wait_for(timeout=20_000)
    system.manage("sora", "check")
    checked = page.locator('#feed li.kind-sora-credits-checked:has-text("Sora credits: ")')
    checked.first.wait_for(timeout=30_000)
    # Sentences, not raw kinds behind the details toggle.
    for line in (offline, online.last, checked.first):
        assert line.locator(".what").is_visible(), line.inner_html()
        assert not line.locator("code").is_visible()
    shot(page, "09-host-and-sora")
    assert page.evaluate("window.__sameDocument") is True
    assert problems == []
