"""Platforms are probed, not assumed: a dispatcher taking the lead probes every DM service
(and reads Sora's credits) now, and no platform is "ready" before a probe has seen it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dm import services as dm_services
from dm.accounts import account_get_or_create
from dm.models import AccountLimit
from scheduler.dispatcher import Dispatcher
from scheduler.models import Task

pytestmark = pytest.mark.django_db


def test_a_platform_no_probe_has_seen_is_not_ready_and_says_so(api, settings):
    settings.DM_ACTIVE_START = settings.DM_ACTIVE_END = "00:00"  # open at any hour of the run
    items = api.get("/api/resources/platforms").json()["platforms"]
    assert {i["platform"] for i in items} == {"instagram", "tiktok", "twitter"}
    for item in items:
        assert item["isReady"] is False
        assert item["checked"] is False
        assert item["waitReason"].startswith("not checked yet")
    account = account_get_or_create(platform="twitter")
    dm_services.health_store(
        account=account,
        action="dm",
        healthy=True,
        logged_in=True,
        reason="",
        service_limits=None,
        now=timezone.now(),
    )
    x = next(
        i
        for i in api.get("/api/resources/platforms").json()["platforms"]
        if i["platform"] == "twitter"
    )
    assert (x["isReady"], x["checked"], x["waitReason"]) == (True, True, None)


def test_taking_the_lead_probes_every_dm_and_comment_service_now_and_checks_sora_credits():
    later = timezone.now() + timedelta(minutes=30)
    tiktok = account_get_or_create(platform="tiktok")
    chained = dm_services.probe_schedule(account=tiktok, at=later)  # the chain's next probe
    dispatcher = Dispatcher(name="lead", enqueue_fn=lambda *args: None)
    now = timezone.now()
    assert dispatcher.take_lease(now)
    probes = Task.objects.filter(type="probe", status="pending")
    assert sorted((p.payload["action"], p.payload["platform"]) for p in probes) == [
        ("comment", "instagram"),
        ("comment", "threads"),
        ("comment", "tiktok"),
        ("comment", "twitter"),
        ("dm", "instagram"),
        ("dm", "tiktok"),
        ("dm", "twitter"),
    ]
    assert all(p.scheduled_for <= now for p in probes)
    assert Task.objects.get(pk=chained.pk).scheduled_for <= now  # moved up, not doubled
    assert Task.objects.filter(type="sora_check", status="pending").count() == 1
    # A renewal of the lease is not a new lead: nothing more is queued.
    assert dispatcher.take_lease(now + timedelta(seconds=5))
    assert Task.objects.filter(type="probe").count() == 7
    assert not AccountLimit.objects.filter(last_probe_at__isnull=False).exists()


@pytest.mark.parametrize(
    ("platform", "sim_class"),
    [("tiktok", "TikTokDMSim"), ("instagram", "InstagramDMSim"), ("twitter", "TwitterDMSim")],
)
def test_a_dm_service_that_is_down_holds_its_platform_without_burning_retries(
    api, settings, run_on_commit, platform, sim_class
):
    """Connection refused is a health problem: the platform shows "down since …", the DM waits
    with that reason and keeps its retries, and it goes out once a probe sees the service."""
    from dm import simulator
    from scheduler.models import Pause
    from tests import dm_factories as s
    from tests.e2e.harness import free_port

    s.open_all_day(settings, platform)
    key = s.SERVICE_KEY[platform]
    settings.SERVICE_URLS = {**settings.SERVICE_URLS, key: f"http://127.0.0.1:{free_port()}"}
    task = s.send_via_api(api, platform, "down_pal", "are you there?")
    s.cycle(run_on_commit)
    task.refresh_from_db()
    assert task.status == "pending"
    assert task.retry_count == 0
    pause = Pause.objects.get(platform=platform, kind="health")
    assert "service down since" in pause.reason
    mine = next(
        p
        for p in api.get("/api/resources/platforms").json()["platforms"]
        if p["platform"] == platform
    )
    assert mine["isReady"] is False
    assert mine["healthy"] is False
    assert "service down since" in mine["waitReason"]
    probe = Task.objects.filter(type="probe", status="pending").latest("id")
    with s.platform_sim(settings, getattr(simulator, sim_class), platform) as server:
        s.cycle(run_on_commit, probe.scheduled_for + timedelta(seconds=1))
        assert not Pause.objects.filter(platform=platform, kind="health").exists()
        s.cycle(run_on_commit, probe.scheduled_for + timedelta(seconds=2))
        task.refresh_from_db()
        assert task.status == "completed", (task.error, task.wait_reason)
        assert task.retry_count == 0
        assert len(s.deliveries(server, "down_pal")) == 1
