"""Comments, discovery, inbox sync and DM automation against the simulators."""

from datetime import timedelta

import pytest
from django.utils import timezone

from crm.client import get_client
from dm import automation, services
from dm.models import PlatformAccount, SendLedger
from dm.simulator import InstagramDMSim, TikTokDMSim, TwitterCommentSim
from scheduler.models import Event, Task
from tests import dm_factories as s
from tests.crm_factories import CampaignFactory, PlatformAccountFactory
from tests.sim_fixtures import configure, running, sent, set_faults

pytestmark = pytest.mark.django_db


@pytest.fixture
def comment_server(settings):
    settings.DM_ACTIVE_START = settings.DM_ACTIVE_END = "00:00"
    settings.DM_LIMITS = ["twitter:comment=10/30/0-0"]
    with running(TwitterCommentSim(time_scale=1000)) as server:
        settings.SERVICE_URLS = {**settings.SERVICE_URLS, "twitter_comments": server.url}
        yield server


def test_a_comment_is_posted_once_with_the_bearer_token(comment_server, run_on_commit):
    task, _ = services.comment_post(
        platform="twitter", post_url="https://x.com/a/status/1", text="Great thread!"
    )
    s.cycle(run_on_commit)
    task.refresh_from_db()
    assert task.status == "completed", task.error
    assert [d["post_url"] for d in sent(comment_server)] == ["https://x.com/a/status/1"]
    assert SendLedger.objects.get(idempotency_key=task.idempotency_key).action == "comment"
    seen = s.seen(comment_server)[-1]
    assert seen["authorization"] == "Bearer test-token-12345"  # X's own default token


def test_a_comment_whose_answer_is_lost_blocks_for_a_human(comment_server, run_on_commit):
    set_faults(comment_server, crash_after_delivery=1)
    task, _ = services.comment_post(
        platform="twitter", post_url="https://x.com/a/status/2", text="Nice"
    )
    s.cycle(run_on_commit)
    task.refresh_from_db()
    assert task.status == "blocked"
    assert "check the post" in task.wait_reason
    assert len(sent(comment_server)) == 1


def test_a_too_long_x_comment_fails_at_once(comment_server, run_on_commit):
    task, _ = services.comment_post(
        platform="twitter", post_url="https://x.com/a/status/3", text="x" * 281
    )
    s.cycle(run_on_commit)
    task.refresh_from_db()
    assert task.status == "failed"
    assert "280" in task.error
    assert sent(comment_server) == []


def test_discovery_upserts_qualifying_prospects_as_crm_contacts(settings, run_on_commit):
    with s.platform_sim(settings, TikTokDMSim, "tiktok"):
        from scheduler.services import task_schedule

        task, _ = task_schedule(
            type="discovery", platform="tiktok", payload={"maxCandidates": 6, "minScore": 60}
        )
        s.cycle(run_on_commit)
        task.refresh_from_db()
        assert task.status == "completed", task.error
        assert task.result["found"] == 6
        assert task.result["upserted"] == 4
        crm = get_client()
        assert crm.contact_by_handle(platform="tiktok", username="tiktok_prospect_1")
        assert crm.contact_by_handle(platform="tiktok", username="tiktok_prospect_5") is None


def test_sync_pulls_conversations_and_replies_into_the_crm(settings, run_on_commit):
    from scheduler.services import task_schedule

    get_client().contact_upsert(platform="instagram", username="maya_builds")  # known handle
    with running(InstagramDMSim(seed=True)) as server:
        settings.SERVICE_URLS = {**settings.SERVICE_URLS, "instagram_dm": server.url}
        task, _ = task_schedule(type="sync", platform="instagram")
        s.cycle(run_on_commit)
        task.refresh_from_db()
        assert task.status == "completed", task.error
        assert task.result["conversations"] == 3
        assert task.result["messages_synced"] == 3
        state = get_client().conversation_state(platform="instagram", username="maya_builds")
        assert state["has_inbound"] is True
        replies = Event.objects.filter(kind="dm.reply_received")
        assert task.result["newReplies"] == replies.count() > 0
        assert {e.data["username"] for e in replies} >= {"maya_builds"}  # shown "Maya Builds"
        assert {e.data["username"] for e in replies if e.data["displayOnly"]} == {
            "Leo.Creates",
            "Sam Ships",
        }  # names no known handle matches stay names
        assert all(e.data["contactId"] for e in replies)
        again, _ = task_schedule(type="sync", platform="instagram")
        s.cycle(run_on_commit)
        again.refresh_from_db()
        assert again.result["messages_synced"] == 0
        assert again.result["newReplies"] == 0  # the inbox hears of each reply once


def test_outreach_fills_campaign_templates_within_the_remaining_caps(settings, run_on_commit):
    settings.DM_ACTIVE_START = settings.DM_ACTIVE_END = "00:00"
    settings.DM_LIMITS = ["tiktok:dm=3/50/0-0"]
    campaign = CampaignFactory(platforms=["tiktok"], message_templates=["Hi {username}!"])
    for number in range(5):
        PlatformAccountFactory(platform="tiktok", username=f"fan{number}")
    account = automation.automation_set(platform="tiktok")
    created = automation.outreach_tick("tiktok", "local")
    assert len(created) == 3
    texts = sorted(Task.objects.filter(type="dm").values_list("payload__text", flat=True))
    assert texts == ["Hi fan0!", "Hi fan1!", "Hi fan2!"]
    assert automation.outreach_tick("tiktok", "local") == []  # the caps are spoken for
    with s.platform_sim(settings, TikTokDMSim, "tiktok") as server:
        for _ in range(3):
            s.cycle(run_on_commit)
        assert len(sent(server)) == 3
    assert campaign.recipients.count() == 3
    assert automation.outreach_tick("tiktok", "local") == []  # hourly cap 3 reached
    account.automation_enabled = False
    account.save()
    assert automation.outreach_tick("tiktok", "local") == []


def test_sync_tick_queues_one_sync_at_a_time_inside_the_window_only(settings):
    settings.DM_ACTIVE_START, settings.DM_ACTIVE_END = "09:00", "17:00"
    automation.automation_set(platform="instagram")
    inside = timezone.now().replace(hour=10, minute=0)
    [first] = automation.sync_tick("instagram", "local", inside)
    # While that sync has not run, no tick queues another (they would pile up behind Safari).
    assert automation.sync_tick("instagram", "local", inside + timedelta(minutes=5)) == []
    assert automation.sync_tick("instagram", "local", inside + timedelta(hours=1)) == []
    Task.objects.filter(pk=first).update(status="completed")
    # Once it ran, the next slot queues the next one (the cron says how often), a slot once.
    later = inside + timedelta(hours=1)
    assert len(automation.sync_tick("instagram", "local", later)) == 1
    Task.objects.filter(type="sync").update(status="completed")
    assert automation.sync_tick("instagram", "local", later) == []  # same minute, same key
    assert len(automation.sync_tick("instagram", "local", later + timedelta(minutes=1))) == 1
    Task.objects.filter(type="sync").update(status="completed")
    assert automation.sync_tick("instagram", "local", inside.replace(hour=18)) == []
    assert PlatformAccount.objects.get(platform="instagram").automation_enabled


def test_simulated_replies_reach_the_crm_through_the_hourly_sync(settings, run_on_commit):
    s.open_all_day(settings, "tiktok")
    with s.platform_sim(settings, TikTokDMSim, "tiktok") as server:
        configure(server, reply_probability=1.0, reply_delay_seconds=0)
        s.cycle(run_on_commit)
        _task, _ = services.dm_send(platform="tiktok", username="replier", text="hey")
        s.cycle(run_on_commit)
        automation.automation_set(platform="tiktok")
        automation.sync_tick("tiktok", "local")
        s.cycle(run_on_commit)
        state = get_client().conversation_state(platform="tiktok", username="replier")
        assert state["has_inbound"] is True
        assert state["last_outbound_at"]
