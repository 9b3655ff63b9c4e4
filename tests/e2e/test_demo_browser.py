"""The demo in Chromium: what `make run` starts shows the system at work within a minute.

The processes bin/run-all starts with DEMO=1 (the seed, `simulate --demo`, daphne, qcluster,
the dispatcher), on a temporary SQLite and a free port range for the simulators
(SIM_PORT_OFFSET). Everything the page shows comes through the real paths: the campaign's DMs
sent by the workers to the simulators, the contacts' replies synced into the inbox, Instagram's
429 turned into a cooldown, the Sora simulator's refresh time read by a credit check.
"""

from __future__ import annotations

import re
import sys
import time

import pytest

from dm.simulator.state import FRIENDLY_REPLIES
from tests.e2e.harness import System, free_offset
from tests.e2e.test_dashboard_browser import chromium, open_dashboard, shot

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
__all__ = ["chromium"]  # the fixture, imported for this module's tests

DEMO_BUDGET_SECONDS = 60


@pytest.fixture
def demo(tmp_path):
    running = System(tmp_path, DEMO="1", SIM_PORT_OFFSET=str(free_offset()), LOG_LEVEL="INFO")
    try:
        yield running
    finally:
        running.stop()


def test_the_demo_shows_sends_replies_a_rate_limit_and_a_sora_countdown_within_a_minute(
    demo, chromium
):
    # make run: migrate, collectstatic, ensure_admin, sora import; then bin/run-all: seed and
    # the processes.
    demo.setup()
    demo.manage("collectstatic", "--noinput", "-v", "0")
    demo.manage("sora", "import", "sora/fixtures/trilogies.json")
    seeded = demo.manage("demo", "seed")
    assert "[demo] Warm intro" in seeded, seeded
    # All at once, as bin/run-all starts them; the minute starts now.
    started = time.monotonic()
    demo.spawn("sim", sys.executable, "manage.py", "simulate", "--demo")
    demo.start_workers()
    demo.start_dispatcher()
    demo.start_web()
    page, problems = open_dashboard(chromium, demo)

    def left() -> float:
        """Milliseconds of the minute that remain (for playwright's timeouts)."""
        return max((started + DEMO_BUDGET_SECONDS - time.monotonic()) * 1000, 1)

    # A campaign DM sent by the workers to the simulator, in the feed's words.
    page.locator('#feed li:has-text("Sent DM to @")').first.wait_for(timeout=left())
    # The contact's answer to it (not the simulator's seeded messages), synced into the inbox.
    reply = ", ".join(f'#inbox li:has-text("{text}")' for text in FRIENDLY_REPLIES)
    page.locator(reply).first.wait_for(timeout=left())
    # Instagram's send met a 429: rate-limited, with the cooldown counting down.
    instagram = page.locator('li.platform[data-platform="instagram"].status-rate-limited')
    instagram.wait_for(timeout=left())
    assert "resumes in" in instagram.inner_text()
    # Sora: no credits, a refresh a few minutes out counting down, a demo trilogy waiting.
    countdown = page.locator("#resources p:has-text('refresh') span[data-until]")
    countdown.wait_for(timeout=left())
    assert countdown.inner_text().startswith("in ")
    assert page.locator('[data-credit="free"]').inner_text() == "0"
    waiting = page.locator('#queue [data-state="WAITING"]:has-text("[demo] First Contact")')
    waiting.first.wait_for(timeout=left())
    # The other platforms are not rate-limited: they send, with messages today.
    for platform in ("tiktok", "twitter"):
        row = page.locator(f'li.platform[data-platform="{platform}"]')
        assert "rate-limited" not in row.get_attribute("class"), row.inner_text()
    rows = page.locator("li.platform").all_inner_texts()
    assert any(re.search(r"today [1-9]\d* / \d+ messages", text) for text in rows), rows
    assert time.monotonic() - started < DEMO_BUDGET_SECONDS + 5
    shot(page, "demo-first-minute")
    assert problems == []
