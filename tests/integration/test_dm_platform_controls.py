"""Accounts, limits, pauses, probes and decisions through the API and `manage.py scheduler`."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from django_q.models import Schedule

from dm.models import AccountLimit, PlatformAccount
from dm.simulator import TikTokDMSim, TwitterDMSim
from scheduler.models import Pause, Task
from tests import dm_factories as s
from tests.sim_fixtures import set_faults

pytestmark = pytest.mark.django_db


def scheduler(*args):
    out = StringIO()
    call_command("scheduler", *args, stdout=out)
    return out.getvalue()


def test_platforms_lists_a_default_account_per_platform_in_the_contracts_shape(api):
    answer = api.get("/api/resources/platforms")
    assert answer.status_code == 200
    items = answer.json()["platforms"]
    assert sorted(i["platform"] for i in items) == ["instagram", "tiktok", "twitter"]
    for item in items:
        assert {
            "platform",
            "isReady",
            "isLoggedIn",
            "cooldownUntil",
            "messagesThisHour",
            "messagesToday",
            "lastActivity",
        } <= set(item)
        assert item["account"] == "default"
    x = next(i for i in items if i["platform"] == "twitter")
    assert (x["limits"]["hourly"], x["limits"]["daily"]) == (15, 100)
    status = api.get("/api/scheduler/status").json()
    assert len(status["platforms"]) == 3


def test_patch_changes_limits_window_and_pause(api):
    api.get("/api/resources/platforms")
    account = PlatformAccount.objects.get(platform="tiktok", is_default=True)
    answer = api.patch(
        f"/api/dm/accounts/{account.pk}",
        {
            "hourlyCap": 3,
            "dailyCap": 9,
            "activeStart": "08:00",
            "activeEnd": "17:00",
            "timezone": "Europe/Berlin",
            "paused": True,
            "pauseReason": "holiday",
        },
        format="json",
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()["account"]
    assert body["limits"]["hourly"] == 3
    assert body["activeHours"]["end"] == "17:00"
    assert body["isReady"] is False
    assert body["waitReason"] == "holiday"
    assert Pause.objects.get(platform="tiktok", account="default", kind="user").reason == "holiday"
    bad = api.patch(f"/api/dm/accounts/{account.pk}", {"minGapSeconds": 500}, format="json")
    assert bad.status_code == 400
    assert "maximum gap" in bad.json()["error"]
    zone = api.patch(f"/api/dm/accounts/{account.pk}", {"timezone": "Mars/Base"}, format="json")
    assert zone.status_code == 400
    assert api.patch("/api/dm/accounts/999", {}, format="json").status_code == 404
    api.patch(f"/api/dm/accounts/{account.pk}", {"paused": False}, format="json")
    assert not Pause.objects.filter(platform="tiktok").exists()


def test_the_api_needs_a_login(anon):
    assert anon.get("/api/resources/platforms").status_code in (401, 403)
    assert anon.post("/api/dm/send", {}, format="json").status_code in (401, 403)


def test_send_validates_its_input(api):
    missing = api.post("/api/dm/send", {"platform": "twitter", "text": "hi"}, format="json")
    assert missing.status_code == 400
    assert "recipient" in missing.json()["error"]
    unknown = api.post(
        "/api/dm/send", {"platform": "myspace", "username": "a", "text": "hi"}, format="json"
    )
    assert unknown.status_code == 400
    account = api.post(
        "/api/dm/send",
        {"platform": "twitter", "username": "a", "text": "hi", "account": "nobody"},
        format="json",
    )
    assert account.status_code == 400
    assert "no twitter account" in account.json()["error"]


def test_cli_platform_show_limits_pause_resume_and_probe(settings):
    settings.DM_ACTIVE_START = settings.DM_ACTIVE_END = "00:00"
    out = scheduler("platform", "show")
    assert "twitter" in out
    assert "UNCHECKED" in out  # no probe has seen it yet: never READY on a guess
    out = scheduler("platform", "limits", "--platform", "twitter", "--hourly", "5", "--daily", "20")
    assert "hour 0/5" in out
    assert AccountLimit.objects.get(account__platform="twitter", action="dm").daily_cap == 20
    scheduler("platform", "pause", "--platform", "twitter", "--reason", "lunch")
    assert Pause.objects.filter(platform="twitter", kind="user").exists()
    assert "lunch" in scheduler("platform", "show", "--platform", "twitter")
    scheduler("platform", "resume", "--platform", "twitter")
    assert not Pause.objects.exists()
    assert "Probe queued" in scheduler("platform", "probe", "--platform", "twitter")
    assert Task.objects.filter(type="probe").count() == 1
    assert '"platform": "twitter"' in scheduler("platform", "show", "--json")
    with pytest.raises(CommandError):
        scheduler("platform", "pause")
    assert "twitter" in scheduler("resources")


def test_cli_dm_sets_the_window_turns_automation_on_and_adds_the_schedules():
    out = scheduler("dm", "--platform", "tiktok", "--start", "9:00", "--end", "17:00")
    assert "tiktok DM automation on" in out
    assert "09:00-17:00" in out
    account = PlatformAccount.objects.get(platform="tiktok", is_default=True)
    assert account.automation_enabled
    assert account.active_end.hour == 17
    names = set(Schedule.objects.values_list("name", flat=True))
    assert {"dm-sync:tiktok:local", "dm-outreach:tiktok:local"} <= names
    sync = Schedule.objects.get(name="dm-sync:tiktok:local")
    assert sync.schedule_type == Schedule.CRON
    assert sync.cluster == "safari-local"
    scheduler("dm", "--platform", "tiktok", "--start", "9:00", "--end", "17:00")
    assert Schedule.objects.filter(name__startswith="dm-").count() == 2
    assert "off" in scheduler("dm", "--platform", "tiktok", "--off")
    with pytest.raises(CommandError):
        scheduler("dm", "--platform", "tiktok", "--start", "25:00")
    queued = scheduler("dm", "--platform", "twitter", "--to", "maya", "--text", "hi", "--key", "k1")
    assert queued.startswith("Queued: DM task")
    assert "Already queued" in scheduler(
        "dm", "--platform", "twitter", "--to", "maya", "--text", "hi", "--key", "k1"
    )


def test_cli_decides_a_blocked_send_as_resend_and_it_goes_out_once(api, settings, run_on_commit):
    s.open_all_day(settings, "twitter")
    with s.platform_sim(settings, TwitterDMSim, "twitter") as server:
        task = s.send_via_api(api, "twitter", "decide_me", "hello")
        account_pk = PlatformAccount.objects.get(platform="twitter", is_default=True).pk
        from dm import services

        spec = services.SendSpec(
            task.idempotency_key, task.pk, "twitter", "dm", "decide_me", "", "hello"
        )
        entry = services.ledger_begin(
            spec=spec, account=PlatformAccount.objects.get(pk=account_pk), now=timezone.now()
        )
        services.ledger_mark(entry=entry, state="blocked", note="unsure", now=timezone.now())
        Task.objects.filter(pk=task.pk).update(status="blocked", wait_reason="unsure")
        with pytest.raises(CommandError):
            scheduler("decide", str(task.pk), "maybe")
        assert "pending" in scheduler("decide", str(task.pk), "resend")
        assert s.ledger(task).state == "failed"
        s.cycle(run_on_commit)
        task.refresh_from_db()
        assert task.status == "completed"
        assert len(s.deliveries(server, "decide_me")) == 1


@pytest.mark.parametrize(
    ("faults", "reason"),
    [
        ({"captcha": True}, "CAPTCHA"),
        ({"status_503": 1, "scope": "all"}, "no Safari session"),
        ({"logged_out": True}, "logged out"),
    ],
)
def test_a_bad_probe_pauses_the_account_and_a_good_one_lifts_it(
    settings, run_on_commit, faults, reason
):
    settings.DM_PROBE_BACKOFF_BASE_SECONDS = 60
    with s.platform_sim(settings, TikTokDMSim, "tiktok") as server:
        set_faults(server, **faults)
        account = PlatformAccount.objects.get_or_create(
            platform="tiktok", handle="default", is_default=True
        )[0]
        from dm import services

        services.probe_schedule(account=account)
        s.cycle(run_on_commit)
        pause = Pause.objects.get(platform="tiktok", kind="health")
        assert reason.lower() in pause.reason.lower()
        limit = AccountLimit.objects.get(account=account, action="dm")
        assert limit.healthy is False
        assert limit.probe_failures == 1
        following = Task.objects.filter(type="probe", status="pending").get()
        delay = following.scheduled_for - timezone.now()
        assert timedelta(seconds=50) < delay <= timedelta(seconds=61)
        set_faults(server, captcha=False, logged_out=False, status_503=0, scope="send")
        s.cycle(run_on_commit, following.scheduled_for + timedelta(seconds=1))
        assert not Pause.objects.filter(kind="health").exists()
        limit.refresh_from_db()
        assert limit.healthy is True
        assert limit.logged_in is True
        assert limit.service_limits["limits"]["messagesPerHour"] == 10


def test_a_probe_finds_an_x_suspension_and_a_dead_service(settings, run_on_commit):
    with s.platform_sim(settings, TwitterDMSim, "twitter") as server:
        set_faults(server, suspended=True)
        account = PlatformAccount.objects.create(
            platform="twitter", handle="default", is_default=True
        )
        from dm import services

        services.probe_schedule(account=account)
        s.cycle(run_on_commit)
        assert "suspended" in Pause.objects.get(kind="health").reason
    settings.SERVICE_URLS = {**settings.SERVICE_URLS, "twitter_dm": "http://127.0.0.1:9"}
    Task.objects.filter(type="probe").delete()
    services.probe_schedule(account=account)
    s.cycle(run_on_commit)
    assert "service down" in AccountLimit.objects.get(account=account).health_reason
