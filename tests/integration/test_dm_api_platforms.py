"""DMs on every platform through the API, dispatcher, runner, handler, ledger and local CRM,
each against its own simulator (on a free port, `settings.SERVICE_URLS` pointed at it).

The same user-visible behaviour is asserted for X, TikTok and Instagram; what differs between
them is in one table (`PLATFORMS`), and the few platform-only behaviours close the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from unittest import mock

import pytest
import requests
from django.conf import settings as django_settings
from django.utils import timezone

from crm.client import get_client
from dm import services
from dm.clients import UnifiedDMClient
from dm.models import AccountLimit, PlatformAccount
from dm.simulator import InstagramDMSim, TikTokDMSim, TwitterDMSim
from dm.verify import snapshot
from scheduler.lifecycle import S
from scheduler.models import Event, Pause, Task
from tests.dm_factories import (
    cycle,
    decide_from_the_sim,
    deliveries,
    ledger,
    open_all_day,
    platform_sim,
    send_via_api,
)
from tests.sim_fixtures import seen, set_faults

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Platform:
    name: str
    sim: type
    label: str  # how wait reasons name it
    readable: bool  # a new recipient's conversation can be read back trustworthily
    refuses_second_dm: bool  # the service itself refuses a second cold DM ("already_messaged")


TIKTOK = Platform("tiktok", TikTokDMSim, "TikTok", readable=True, refuses_second_dm=True)
INSTAGRAM = Platform(
    "instagram", InstagramDMSim, "Instagram", readable=False, refuses_second_dm=False
)
TWITTER = Platform("twitter", TwitterDMSim, "X", readable=False, refuses_second_dm=False)
PLATFORMS = [TIKTOK, INSTAGRAM, TWITTER]


@pytest.fixture(params=PLATFORMS, ids=lambda p: p.name)
def case(request) -> Platform:
    return request.param


@pytest.fixture
def server(settings, case):
    open_all_day(settings, case.name)
    with platform_sim(settings, case.sim, case.name) as running:
        yield running


def test_a_dm_is_sent_once_and_logged_in_the_crm(api, case, server, run_on_commit):
    platform = case.name
    first = api.post(
        "/api/dm/send",
        {"platform": platform, "username": "maya_builds", "text": "Hi Maya, loved the demo!"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="hello-maya",
    )
    assert first.status_code == 201, first.content
    assert first.json()["success"] is True
    assert first.json()["task"]["type"] == "dm"
    again = api.post(
        "/api/dm/send",
        {"platform": platform, "username": "maya_builds", "text": "Hi Maya, loved the demo!"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="hello-maya",
    )
    assert again.status_code == 200
    assert again.json()["taskId"] == first.json()["taskId"]
    task = Task.objects.get(pk=int(first.json()["taskId"]))
    assert task.account == "default"
    cycle(run_on_commit)
    task.refresh_from_db()
    assert task.status == "completed", (task.error, task.wait_reason)
    assert [d["text"] for d in deliveries(server)] == ["Hi Maya, loved the demo!"]
    entry = ledger(task)
    assert (entry.state, entry.verified) == ("sent", True)
    state = get_client().conversation_state(platform=platform, username="maya_builds")
    assert state["last_outbound_at"] is not None
    cycle(run_on_commit)
    assert len(deliveries(server)) == 1
    platforms = api.get("/api/resources/platforms").json()["platforms"]
    mine = next(p for p in platforms if p["platform"] == platform)
    assert mine["messagesThisHour"] == 1
    assert mine["messagesToday"] == 1
    assert mine["lastActivity"] is not None


def test_a_crash_after_delivery_is_verified_and_not_resent(api, case, server, run_on_commit):
    """The answer is lost after delivery. Where the conversation can be read trustworthily
    (TikTok; Instagram and X cannot for a new recipient), the read proves it; elsewhere the
    task blocks for a human. Never a second delivery."""
    platform = case.name
    set_faults(server, crash_after_delivery=1)
    task = send_via_api(api, platform, "leo_creates", "Quick question about your launch")
    cycle(run_on_commit)
    task.refresh_from_db()
    if case.readable:
        assert task.status == "completed", (task.error, task.wait_reason)
        assert (ledger(task).state, ledger(task).verified) == ("sent", True)
        assert "verified" in task.result["note"]
    else:
        assert task.status == "blocked", (task.status, task.error)
        assert ledger(task).state == "blocked"
        assert decide_from_the_sim(api, server, task) == "sent"
    assert len(deliveries(server, "leo_creates")) == 1
    cycle(run_on_commit, timezone.now() + timedelta(hours=1))
    assert len(deliveries(server, "leo_creates")) == 1


def test_an_unverified_success_counts_as_sent(api, case, server, run_on_commit):
    platform = case.name
    set_faults(server, unverified=1)
    task = send_via_api(api, platform, "sam_ships", "Congrats on shipping!")
    cycle(run_on_commit)
    task.refresh_from_db()
    assert task.status == "completed"
    assert task.retry_count == 0
    assert (ledger(task).state, ledger(task).verified) == ("sent", False)
    cycle(run_on_commit, timezone.now() + timedelta(hours=2))
    assert len(deliveries(server, "sam_ships")) == 1


def test_a_429_defers_the_dm_with_a_doubling_cooldown(api, case, server, run_on_commit):
    """The real services' 429s carry no retry time: our own cooldown decides (base, then
    doubled)."""
    platform = case.name
    base = django_settings.DM_COOLDOWN_BASE_SECONDS
    set_faults(server, status_429=2, retry_after_s=60)
    task = send_via_api(api, platform, "rate_me", "hello there")
    start = timezone.now()
    cycle(run_on_commit)
    task.refresh_from_db()
    assert task.status == "pending"
    assert task.retry_count == 0
    assert "rate limit" in task.wait_reason.lower()
    limit = AccountLimit.objects.get(account__platform=platform, action="dm")
    first = limit.cooldown_until - start
    assert timedelta(seconds=base - 5) < first < timedelta(seconds=base + 10)
    assert task.scheduled_for == limit.cooldown_until
    assert deliveries(server) == []
    platforms = api.get("/api/resources/platforms").json()["platforms"]
    assert next(p for p in platforms if p["platform"] == platform)["cooldownUntil"] is not None
    later = limit.cooldown_until + timedelta(seconds=1)
    cycle(run_on_commit, later)  # still 429: the cooldown doubles
    limit.refresh_from_db()
    assert limit.cooldown_level == 2
    assert limit.cooldown_until - later > timedelta(seconds=2 * base - 10)
    cycle(run_on_commit, limit.cooldown_until + timedelta(seconds=1))
    task.refresh_from_db()
    assert task.status == "completed"
    assert len(deliveries(server)) == 1
    limit.refresh_from_db()
    assert limit.cooldown_level == 0


def test_logged_out_pauses_the_account_until_a_good_probe(api, case, server, run_on_commit):
    platform = case.name
    set_faults(server, logged_out=True)
    task = send_via_api(api, platform, "paused_pal", "are you there?")
    cycle(run_on_commit)
    task.refresh_from_db()
    assert task.status == "pending"
    pause = Pause.objects.get(platform=platform, kind="health")
    assert "log" in pause.reason.lower()
    assert Event.objects.filter(kind="platform.paused").exists()
    probe = Task.objects.get(type="probe", status="pending")
    cycle(run_on_commit, timezone.now() + timedelta(hours=1))  # still logged out
    task.refresh_from_db()
    assert task.status == "pending"
    assert task.wait_reason.startswith("paused")
    assert Pause.objects.filter(platform=platform, kind="health").exists()
    platforms = api.get("/api/resources/platforms").json()["platforms"]
    mine = next(p for p in platforms if p["platform"] == platform)
    assert mine["isLoggedIn"] is False
    assert mine["isReady"] is False
    set_faults(server, logged_out=False)
    probe = Task.objects.filter(type="probe", status="pending").latest("id")
    cycle(run_on_commit, probe.scheduled_for + timedelta(seconds=1))
    assert not Pause.objects.filter(platform=platform, kind="health").exists()
    cycle(run_on_commit, probe.scheduled_for + timedelta(seconds=2))
    task.refresh_from_db()
    assert task.status == "completed"
    assert len(deliveries(server)) == 1


@pytest.mark.parametrize("delivered", [True, False])
def test_a_killed_worker_is_verified_before_any_resend(api, case, server, run_on_commit, delivered):
    """The worker died after the ledger said attempting: the reaper hands it back, and the
    next attempt reads the conversation instead of sending blindly. Where no trustworthy read
    can tell (X; a new recipient's empty or unopenable thread), it blocks for a human."""
    platform = case.name
    verifiable = case.readable and delivered
    task = send_via_api(api, platform, "killed_mid_send", "one and only")
    now = timezone.now()
    Task.objects.filter(pk=task.pk).update(
        status=S.RUNNING, attempt=1, heartbeat_at=now - timedelta(minutes=5), started_at=now
    )
    task.refresh_from_db()
    account = PlatformAccount.objects.get(platform=platform, is_default=True)
    client = UnifiedDMClient()
    baseline = snapshot(client, platform=platform, username="killed_mid_send", text="one and only")
    spec = services.SendSpec(
        task.idempotency_key,
        task.pk,
        platform,
        "dm",
        "killed_mid_send",
        "",
        "one and only",
        baseline=baseline,
    )
    services.ledger_begin(spec=spec, account=account, now=now - timedelta(seconds=1))
    if delivered:
        client.send(platform, "killed_mid_send", "one and only")
    cycle(run_on_commit)  # reaps: ledger unknown, the core schedules a retry with backoff
    assert ledger(task).state == "unknown"
    task.refresh_from_db()
    cycle(run_on_commit, task.scheduled_for + timedelta(seconds=1))
    task.refresh_from_db()
    if not verifiable:
        assert task.status == "blocked", (task.status, task.error)
        decide_from_the_sim(api, server, task)
        cycle(run_on_commit)
        task.refresh_from_db()
    assert task.status == "completed", (task.error, task.wait_reason)
    assert len(deliveries(server, "killed_mid_send")) == 1
    assert ledger(task).state == "sent"
    # Where a read proved it, the note says so; elsewhere a human decided.
    assert ("verified" in task.result["note"]) is verifiable


def test_an_unverifiable_send_blocks_for_a_human(api, case, server, run_on_commit):
    """The answer is lost and the conversation cannot be read: blocked, then 'mark sent'."""
    platform = case.name
    set_faults(server, crash_after_delivery=1)
    original = requests.Session.request

    def failing_reads(self, method, url, *args, **kwargs):
        if method == "GET" and "messages" in url:
            raise requests.ConnectionError("Connection refused: NewConnectionError")
        return original(self, method, url, *args, **kwargs)

    task = send_via_api(api, platform, "unsure_user", "did this arrive?")
    with mock.patch.object(requests.Session, "request", failing_reads):
        cycle(run_on_commit)
    task.refresh_from_db()
    assert task.status == "blocked", (task.status, task.error)
    assert "mark sent, or send again" in task.wait_reason
    assert ledger(task).state == "blocked"
    answer = api.post(f"/api/dm/sends/{task.pk}/decide", {"decision": "sent"}, format="json")
    assert answer.status_code == 200, answer.content
    task.refresh_from_db()
    assert task.status == "completed"
    assert ledger(task).state == "sent"
    assert len(deliveries(server, "unsure_user")) == 1


def test_outreach_guards_refuse_do_not_contact_and_repeated_cold_dms(
    api, case, server, run_on_commit
):
    platform = case.name
    crm = get_client()
    crm.contact_upsert(platform=platform, username="never_me", display_name="Never")
    crm.set_do_not_contact(platform=platform, username="never_me", value=True)
    dnc = send_via_api(api, platform, "never_me", "hello")
    first = send_via_api(api, platform, "cold_one", "first touch")
    cycle(run_on_commit)
    cycle(run_on_commit)
    dnc.refresh_from_db()
    first.refresh_from_db()
    assert dnc.status == "failed"
    assert "do-not-contact" in dnc.error
    assert first.status == "completed"
    second = send_via_api(api, platform, "cold_one", "just bumping this")
    cycle(run_on_commit)
    second.refresh_from_db()
    assert second.status == "failed"
    assert "cold DM refused" in second.error
    assert [d["username"] for d in deliveries(server)] == ["cold_one"]
    # Once they write back, a reply is not cold.
    crm.message_log(
        platform=platform,
        username="cold_one",
        text="hey! thanks",
        direction="inbound",
        sent_at=timezone.now(),
    )
    reply = send_via_api(api, platform, "cold_one", "great to hear from you")
    cycle(run_on_commit)
    reply.refresh_from_db()
    if not case.refuses_second_dm:
        assert reply.status == "completed", reply.error
        assert len(deliveries(server, "cold_one")) == 2
    else:  # our guard let it through; the service itself refuses for good
        assert reply.status == "failed"
        assert reply.retry_count == 0
        assert "already_messaged" in reply.error
        assert len(deliveries(server, "cold_one")) == 1


def test_the_hourly_cap_makes_the_next_dm_wait_with_its_reason(api, case, server, run_on_commit):
    send_via_api(api, case.name, "u1", "one")
    cycle(run_on_commit)
    AccountLimit.objects.filter(account__platform=case.name).update(hourly_cap=1)
    waiting = send_via_api(api, case.name, "u2", "two")
    cycle(run_on_commit)
    waiting.refresh_from_db()
    assert waiting.status == "pending"
    assert waiting.wait_reason.startswith(f"{case.label}: hourly cap 1 reached, next slot ")
    assert len(deliveries(server)) == 1


def test_conversations_are_read_through_the_service(api, case, server, run_on_commit):
    send_via_api(api, case.name, "maya_builds", "hello")
    cycle(run_on_commit)
    answer = api.get("/api/dm/conversations", {"platform": case.name})
    assert answer.status_code == 200
    assert [c["username"] for c in answer.json()["conversations"]] == ["maya_builds"]
    bad = api.get("/api/dm/conversations", {"platform": "myspace"})
    assert bad.status_code == 400
    assert "unknown dm platform" in bad.json()["error"]


# --- platform-only behaviour --------------------------------------------------------------------


@pytest.mark.parametrize("case", [TIKTOK], ids=["tiktok"])
def test_an_unknown_tiktok_user_fails_for_good_without_a_retry(api, case, server, run_on_commit):
    task = send_via_api(api, case.name, "nouser_ghost", "hello?")
    cycle(run_on_commit)
    task.refresh_from_db()
    assert task.status == "failed"
    assert "identity_mismatch" in task.error
    assert ledger(task).state == "failed"
    assert deliveries(server) == []


@pytest.mark.parametrize("case", [INSTAGRAM], ids=["instagram"])
def test_an_instagram_reply_in_a_known_thread_goes_to_that_thread(api, case, server, run_on_commit):
    send_via_api(api, case.name, "maya_builds", "first touch")
    cycle(run_on_commit)
    thread = api.get("/api/dm/conversations", {"platform": case.name}).json()["conversations"][0]
    assert thread["threadId"]
    answer = api.post(
        "/api/dm/send",
        {
            "platform": case.name,
            "username": "maya_builds",
            "threadId": thread["threadId"],
            "text": "following up in the thread",
        },
        format="json",
    )
    assert answer.status_code == 201, answer.content
    cycle(run_on_commit)
    task = Task.objects.get(pk=int(answer.json()["taskId"]))
    assert task.status == "completed", task.error
    assert [d["text"] for d in deliveries(server, "maya_builds")] == [
        "first touch",
        "following up in the thread",
    ]
    requests_seen = [r["path"] for r in seen(server)]
    assert "/api/messages/send-to-thread" in requests_seen


@pytest.mark.parametrize("case", [INSTAGRAM], ids=["instagram"])
def test_a_thread_id_on_another_platform_is_refused(api, case, server):
    answer = api.post(
        "/api/dm/send",
        {"platform": "twitter", "threadId": "t1", "text": "hi"},
        format="json",
    )
    assert answer.status_code == 400
    assert "threadId" in answer.json()["error"]
