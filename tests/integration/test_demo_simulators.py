"""The simulators' demo scenario over HTTP, and the reply check that brings answers in fast."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from dm import automation, services
from dm.simulator import InstagramDMSim, SimServer, TikTokDMSim
from dm.simulator.demo import RETRY_AFTER_SECONDS, demo_options, demo_setup
from dm.simulator.state import FRIENDLY_REPLIES
from scheduler.models import Task
from sora.simulator import DEMO_REFRESH_SECONDS, SORA_PORT, build_demo_servers
from tests import dm_factories as s


def send(server: SimServer, username: str) -> requests.Response:
    path = (
        "/api/messages/send-to"
        if server.service.platform == "instagram"
        else (f"/api/{server.service.platform}/messages/send-to")
    )
    return requests.post(
        f"{server.url}{path}", json={"username": username, "text": "hi"}, timeout=5
    )


@pytest.mark.parametrize("profile", ["kind", "real"])
def test_demo_instagram_refuses_its_first_send_with_a_retry_time_then_sends(profile):
    """The kind profile says when to come back; the real one never does (our cooldown
    decides), as the real services answer."""
    options = {**demo_options(time_scale=1.0), "profile": profile}
    server = SimServer(InstagramDMSim(**options), port=0).start()
    demo_setup([server])
    try:
        first = send(server, "maya")
        assert first.status_code == 429
        expected = RETRY_AFTER_SECONDS if profile == "kind" else None
        assert first.json().get("retryAfter") == expected
        assert send(server, "maya").status_code == 200
    finally:
        server.stop()


def test_demo_contacts_answer_a_dm_a_few_seconds_later():
    options = {**demo_options(time_scale=1.0), "reply_delay_seconds": 0.3}
    server = SimServer(TikTokDMSim(**options), port=0).start()
    demo_setup([server])  # TikTok is not the rate-limited one
    try:
        assert send(server, "leo").status_code == 200
        time.sleep(0.4)
        url = f"{server.url}/api/tiktok/messages?conversationId=leo"
        texts = [m["text"] for m in requests.get(url, timeout=5).json()["messages"]]
        assert texts[0] == "hi"
        assert texts[1] in FRIENDLY_REPLIES
    finally:
        server.stop()
    assert demo_options(time_scale=10.0)["reply_delay_seconds"] == 50.0  # 5 real seconds


def test_demo_sora_has_no_credits_and_a_refresh_minutes_out():
    [sora] = build_demo_servers(port_offset=-SORA_PORT, time_scale=1.0)  # port 0: a free one
    sora.start()
    try:
        usage = requests.get(f"{sora.url}/v1/sora/usage", timeout=5).json()
    finally:
        sora.stop()
    assert usage["remaining"] == 0
    refresh = datetime.fromisoformat(usage["refreshes_at"]) - datetime.now(UTC)
    assert timedelta(seconds=DEMO_REFRESH_SECONDS - 10) < refresh
    assert refresh <= timedelta(seconds=DEMO_REFRESH_SECONDS)


@pytest.mark.django_db
def test_a_sent_dm_queues_a_reply_check_when_asked_to(settings, run_on_commit):
    s.open_all_day(settings, "tiktok")
    settings.DM_REPLY_CHECK_SECONDS = 15
    with s.platform_sim(settings, TikTokDMSim, "tiktok"):
        services.dm_send(platform="tiktok", username="ana", text="hey")
        s.cycle(run_on_commit)
        services.dm_send(platform="tiktok", username="kofi", text="hey")
        s.cycle(run_on_commit)
    [check] = Task.objects.filter(type="sync", platform="tiktok")  # the waiting one covers both
    assert check.status == "pending"
    sent_at = Task.objects.filter(type="dm").order_by("id")[0].finished_at
    assert timedelta(seconds=14) < check.scheduled_for - sent_at < timedelta(seconds=16)
    # A tick while it waits adds none.
    automation.automation_set(platform="tiktok")
    assert automation.sync_tick("tiktok", "local") == []


@pytest.mark.django_db
def test_without_a_reply_check_a_sent_dm_leaves_syncs_to_the_schedule(settings, run_on_commit):
    s.open_all_day(settings, "tiktok")
    settings.DM_REPLY_CHECK_SECONDS = 0
    with s.platform_sim(settings, TikTokDMSim, "tiktok"):
        services.dm_send(platform="tiktok", username="ana", text="hey")
        s.cycle(run_on_commit)
    assert Task.objects.get(type="dm").status == "completed"
    assert not Task.objects.filter(type="sync").exists()
