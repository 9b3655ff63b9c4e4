"""DM sends against the `real` profile simulators (CONTRACTS.md "How the real services
behave"), through the API, dispatcher, handler and ledger: every at-most-once guarantee holds
with slow sends on a busy tab, lost answers, 504s, CAPTCHAs and recipient refusals."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from dm.models import AccountLimit
from dm.simulator import InstagramDMSim, TikTokDMSim, TwitterDMSim
from scheduler import services as services_scheduler
from scheduler.models import Event, Pause, Task
from tests import dm_factories as s
from tests.sim_fixtures import overlaps, set_faults

pytestmark = pytest.mark.django_db


def timeouts(settings, key: str, **kinds: float) -> None:
    settings.SERVICE_TIMEOUTS = {
        **settings.SERVICE_TIMEOUTS,
        key: {**settings.SERVICE_TIMEOUTS[key], **kinds},
    }


def test_a_tiktok_send_longer_than_the_generic_timeout_completes_verified(
    api, settings, run_on_commit
):
    """A TikTok send lasts longer than the old 30 s timeout: its own send timeout covers it."""
    s.open_all_day(settings, "tiktok")
    settings.HTTP_TIMEOUT_SECONDS = 0.2
    timeouts(settings, "tiktok_dm", send=10.0)
    with s.platform_sim(settings, TikTokDMSim, "tiktok", duration_scale=100) as server:  # 0.35 s
        task = s.send_via_api(api, "tiktok", "patient_pat", "worth the wait")
        s.cycle(run_on_commit)
        task.refresh_from_db()
        assert task.status == "completed", (task.error, task.wait_reason)
        assert (s.ledger(task).state, s.ledger(task).verified) == ("sent", True)
        assert len(s.deliveries(server)) == 1


def test_a_lost_tiktok_answer_waits_for_the_tab_then_verifies_by_a_new_message(
    api, settings, run_on_commit
):
    s.open_all_day(settings, "tiktok")
    timeouts(settings, "tiktok_dm", send=0.1)
    with s.platform_sim(settings, TikTokDMSim, "tiktok", duration_scale=70) as server:  # 0.5 s
        task = s.send_via_api(api, "tiktok", "slow_sam", "hello slow world")
        s.cycle(run_on_commit)
        task.refresh_from_db()
        assert task.status == "completed", (task.error, task.wait_reason)
        assert "verified" in task.result["note"]
        assert len(s.deliveries(server, "slow_sam")) == 1
        assert overlaps(server) == []  # nothing read while the send was typing


def test_after_a_lost_x_answer_the_next_send_never_overlaps_the_running_one(
    api, settings, run_on_commit
):
    """X reads prove nothing: a lost answer blocks for a human, but only once the tab is free,
    so the next task never types into the tab while the first send still runs."""
    s.open_all_day(settings, "twitter")
    timeouts(settings, "twitter_dm", send=0.05)
    with s.platform_sim(settings, TwitterDMSim, "twitter", duration_scale=25) as server:  # 0.4 s
        first = s.send_via_api(api, "twitter", "first_x", "one")
        second = s.send_via_api(api, "twitter", "second_x", "two")
        for _ in range(3):
            s.cycle(run_on_commit)
        first.refresh_from_db()
        second.refresh_from_db()
        assert (first.status, second.status) == ("blocked", "blocked")
        assert overlaps(server) == []
        assert sorted(d["username"] for d in s.deliveries(server)) == ["first_x", "second_x"]
        for task in (first, second):
            assert s.decide_from_the_sim(api, server, task) == "sent"
        s.cycle(run_on_commit, timezone.now() + timedelta(hours=1))
        assert len(s.deliveries(server)) == 2


@pytest.mark.parametrize(
    ("platform", "sim", "verifiable"),
    [("tiktok", TikTokDMSim, True), ("twitter", TwitterDMSim, False)],
)
def test_a_504_is_an_unknown_outcome_never_a_retry(
    api, settings, run_on_commit, platform, sim, verifiable
):
    s.open_all_day(settings, platform)
    with s.platform_sim(settings, sim, platform) as server:
        set_faults(server, status_504=1)
        task = s.send_via_api(api, platform, "gateway_gus", "through the proxy")
        s.cycle(run_on_commit)
        task.refresh_from_db()
        assert task.status == ("completed" if verifiable else "blocked"), task.error
        assert task.retry_count == 0
        s.cycle(run_on_commit, timezone.now() + timedelta(hours=1))
        assert len(s.deliveries(server, "gateway_gus")) == 1


def test_an_old_tiktok_message_with_the_same_text_is_not_taken_for_the_lost_send(
    api, settings, run_on_commit
):
    """TikTok stamps every message with the time of the read: an old identical text must not
    read as delivered. The pre-send count in the ledger tells old from new."""
    from dm import services
    from dm.clients import UnifiedDMClient
    from dm.models import PlatformAccount
    from dm.verify import snapshot
    from scheduler.lifecycle import S

    s.open_all_day(settings, "tiktok")
    with s.platform_sim(settings, TikTokDMSim, "tiktok") as server:
        long_ago = timezone.now() - timedelta(days=40)
        server.service.inbox.add("old_friend", "same old hello", outbound=True, now=long_ago)
        task = s.send_via_api(api, "tiktok", "old_friend", "same old hello")
        now = timezone.now()
        Task.objects.filter(pk=task.pk).update(
            status=S.RUNNING, attempt=1, heartbeat_at=now - timedelta(minutes=5), started_at=now
        )
        baseline = snapshot(
            UnifiedDMClient(), platform="tiktok", username="old_friend", text="same old hello"
        )
        assert baseline == 1
        spec = services.SendSpec(
            task.idempotency_key,
            task.pk,
            "tiktok",
            "dm",
            "old_friend",
            "",
            "same old hello",
            baseline=baseline,
        )
        account = PlatformAccount.objects.get(platform="tiktok", is_default=True)
        services.ledger_begin(spec=spec, account=account, now=now)  # killed before sending
        s.cycle(run_on_commit)  # the reaper hands it back
        task.refresh_from_db()
        s.cycle(run_on_commit, task.scheduled_for + timedelta(seconds=1))
        task.refresh_from_db()
        # The old message is not taken for the lost send, and as many matches as before in a
        # window that may have scrolled is no proof of "not sent" either: a human decides.
        assert task.status == "blocked", (task.error, task.wait_reason)
        assert "no trustworthy read" in task.wait_reason
        assert s.deliveries(server, "old_friend") == []
        services_scheduler.task_decide(task_id=task.pk, decision="resend")
        s.cycle(run_on_commit)
        task.refresh_from_db()
        assert task.status == "completed", (task.error, task.wait_reason)
        assert len(s.deliveries(server, "old_friend")) == 1  # sent now, once, not lost


@pytest.mark.parametrize(
    ("username", "said"),
    [
        ("suspended_zed", "Account suspended"),
        ("protected_pat", "Account is protected"),
        ("nouser_nina", "User not found"),
    ],
)
def test_an_x_recipient_problem_fails_that_dm_for_good_and_leaves_our_account_alone(
    api, settings, run_on_commit, username, said
):
    s.open_all_day(settings, "twitter")
    with s.platform_sim(settings, TwitterDMSim, "twitter") as server:
        task = s.send_via_api(api, "twitter", username, "hello there")
        s.cycle(run_on_commit)
        task.refresh_from_db()
        assert task.status == "failed"
        assert task.retry_count == 0
        assert said in task.error
        assert not Pause.objects.exists()
        limit = AccountLimit.objects.get(account__platform="twitter", action="dm")
        assert limit.healthy is not False
        assert limit.cooldown_until is None
        following = s.send_via_api(api, "twitter", "fine_fred", "hi Fred")
        s.cycle(run_on_commit)
        following.refresh_from_db()
        assert following.status == "completed"
        assert [d["username"] for d in s.deliveries(server)] == ["fine_fred"]


def test_a_tiktok_captcha_waits_for_a_human_not_for_a_cooldown(api, settings, run_on_commit):
    s.open_all_day(settings, "tiktok")
    with s.platform_sim(settings, TikTokDMSim, "tiktok") as server:
        set_faults(server, challenge=1)
        task = s.send_via_api(api, "tiktok", "captcha_cat", "hello")
        s.cycle(run_on_commit)
        task.refresh_from_db()
        assert task.status == "pending"
        assert task.retry_count == 0
        assert "captcha" in task.wait_reason.lower()
        limit = AccountLimit.objects.get(account__platform="tiktok", action="dm")
        assert limit.cooldown_until is None  # not a limit
        assert "captcha" in Pause.objects.get(platform="tiktok", kind="health").reason.lower()
        assert s.deliveries(server) == []
        probe = Task.objects.filter(type="probe", status="pending").latest("id")
        s.cycle(run_on_commit, probe.scheduled_for + timedelta(seconds=1))  # a human solved it
        s.cycle(run_on_commit, probe.scheduled_for + timedelta(seconds=2))
        task.refresh_from_db()
        assert task.status == "completed", (task.error, task.wait_reason)
        assert len(s.deliveries(server)) == 1


def test_an_instagram_inbox_strategy_send_is_recorded_and_warned(api, settings, run_on_commit):
    s.open_all_day(settings, "instagram")
    with s.platform_sim(settings, InstagramDMSim, "instagram") as server:
        set_faults(server, double_send=1)
        task = s.send_via_api(api, "instagram", "twice_tina", "just once, please")
        s.cycle(run_on_commit)
        task.refresh_from_db()
        assert task.status == "completed"
        assert task.retry_count == 0
        assert "inbox" in s.ledger(task).error
        assert "inbox" in task.result["note"]
        warning = Event.objects.get(kind="send.warning")
        assert "typed it twice" in warning.message
        # The service itself typed it twice, in one request: counted, flagged, never resent.
        assert len(s.deliveries(server, "twice_tina")) == 2
        s.cycle(run_on_commit, timezone.now() + timedelta(hours=1))
        assert len(s.deliveries(server, "twice_tina")) == 2


def test_an_x_send_is_verified_by_its_recipient_header_text(api, settings, run_on_commit):
    s.open_all_day(settings, "twitter")
    with s.platform_sim(settings, TwitterDMSim, "twitter") as server:
        task = s.send_via_api(api, "twitter", "maya_builds", "hi Maya")
        s.cycle(run_on_commit)
        assert s.ledger(task).verified is True
        assert len(s.deliveries(server)) == 1


def test_a_send_waits_for_a_tab_still_busy_with_an_earlier_send(api, settings, run_on_commit):
    """A worker killed mid-send leaves the service typing: the next DM task waits for the tab
    instead of reading or sending into it (TikTok would answer 429 in_flight)."""
    import threading

    import requests

    s.open_all_day(settings, "tiktok")
    with s.platform_sim(settings, TikTokDMSim, "tiktok", duration_scale=50) as server:  # 0.7 s
        orphan = threading.Thread(
            target=requests.post,
            args=(f"{server.url}/api/tiktok/messages/send-to",),
            kwargs={"json": {"username": "orphan_olga", "text": "left running"}, "timeout": 10},
        )
        task = s.send_via_api(api, "tiktok", "next_nick", "my turn")
        orphan.start()
        time.sleep(0.2)
        s.cycle(run_on_commit)
        orphan.join()
        task.refresh_from_db()
        assert task.status == "completed", (task.error, task.wait_reason)
        assert AccountLimit.objects.get(account__platform="tiktok").cooldown_until is None
        assert overlaps(server) == []
        assert [d["username"] for d in s.deliveries(server)] == ["orphan_olga", "next_nick"]
