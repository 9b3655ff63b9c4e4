"""Comment services are probed like DM services, but a comment service that is down holds only
that platform's comments (its `platform:comment` gate), never its DMs; and a service that stays
down is probed less and less often (backoff) until a good probe brings back the interval."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.utils import timezone

from dashboard.selectors import platform_rows
from dm import services as dm_services
from dm.accounts import account_get_or_create
from dm.simulator import InstagramCommentSim, InstagramDMSim, TikTokDMSim
from scheduler.models import Pause, Task
from tests import dm_factories as s
from tests.e2e.harness import free_port
from tests.sim_fixtures import running, sent

pytestmark = pytest.mark.django_db

POST = "https://www.instagram.com/p/abc/"


def _platform(api, name: str) -> dict:
    items = api.get("/api/resources/platforms").json()["platforms"]
    return next(i for i in items if i["platform"] == name)


def _probe(run_on_commit, account, action: str, at=None) -> Task:
    """Run the account's queued probe (queueing one now if none is) and return it."""
    probe = dm_services.probe_schedule(account=account, action=action)
    s.cycle(run_on_commit, (at or probe.scheduled_for) + timedelta(seconds=1))
    probe.refresh_from_db()
    assert probe.status == "completed", probe.error
    return probe


def test_a_comment_service_down_holds_only_that_platforms_comments(api, settings, run_on_commit):
    settings.DM_ACTIVE_START = settings.DM_ACTIVE_END = "00:00"
    settings.DM_LIMITS = ["instagram:dm=15/100/0-0", "instagram:comment=10/30/0-0"]
    down = f"http://127.0.0.1:{free_port()}"
    settings.SERVICE_URLS = {**settings.SERVICE_URLS, "instagram_comments": down}
    account = account_get_or_create(platform="instagram")
    _probe(run_on_commit, account, "comment")

    held = _platform(api, "instagram")
    assert "service down since" in held["actionHolds"]["comment"]
    assert held["actionHolds"]["comment"].startswith("Instagram comments:")
    assert held["healthPause"] is None
    assert not Pause.objects.filter(platform="instagram").exists()
    row = next(r for r in platform_rows([held], now=timezone.now()))  # the dashboard's card
    assert "held: Instagram comments: service down since" in row["detail"]

    with s.platform_sim(settings, InstagramDMSim, "instagram") as dm_server:
        comment, _ = dm_services.comment_post(platform="instagram", post_url=POST, text="Nice!")
        dm = s.send_via_api(api, "instagram", "still_here", "DMs go on")
        s.cycle(run_on_commit)
        dm.refresh_from_db()
        comment.refresh_from_db()
        assert dm.status == "completed", (dm.error, dm.wait_reason)  # DMs are not held
        assert len(s.deliveries(dm_server, "still_here")) == 1
    assert comment.status == "pending"
    assert "Instagram comments: service down since" in comment.wait_reason
    assert comment.retry_count == 0

    sim = InstagramCommentSim(token=settings.SERVICE_TOKENS["instagram_comments"])
    with running(sim) as server:
        settings.SERVICE_URLS = {**settings.SERVICE_URLS, "instagram_comments": server.url}
        queued = Task.objects.get(type="probe", status="pending", payload__action="comment")
        _probe(run_on_commit, account, "comment", at=queued.scheduled_for)
        assert _platform(api, "instagram")["actionHolds"] == {}
        s.cycle(run_on_commit, queued.scheduled_for + timedelta(seconds=2))
        comment.refresh_from_db()
        assert comment.status == "completed", (comment.error, comment.wait_reason)
        assert comment.retry_count == 0
        assert len(sent(server)) == 1


@pytest.mark.parametrize(
    ("platform", "action", "key", "sim_class"),
    [
        ("tiktok", "dm", "tiktok_dm", TikTokDMSim),
        ("instagram", "comment", "instagram_comments", InstagramCommentSim),
    ],
)
def test_probing_backs_off_while_a_service_is_down_and_returns_to_the_interval(
    settings, run_on_commit, platform, action, key, sim_class
):
    settings.DM_PROBE_INTERVAL_SECONDS = 300
    settings.DM_PROBE_BACKOFF_BASE_SECONDS = 10
    settings.DM_PROBE_BACKOFF_CAP_SECONDS = 40
    settings.SERVICE_URLS = {**settings.SERVICE_URLS, key: f"http://127.0.0.1:{free_port()}"}
    account = account_get_or_create(platform=platform)
    gaps = []
    at = None
    for _ in range(4):
        probe = _probe(run_on_commit, account, action, at=at)
        following = Task.objects.get(pk=probe.result["nextProbe"])
        assert probe.result["healthy"] is False
        gaps.append(round((following.scheduled_for - probe.started_at).total_seconds()))
        at = following.scheduled_for
    assert gaps == [10, 20, 40, 40]  # doubling from the base, capped

    options = {"token": settings.SERVICE_TOKENS[key]} if action == "comment" else {}
    with running(sim_class(**options)) as server:
        settings.SERVICE_URLS = {**settings.SERVICE_URLS, key: server.url}
        probe = _probe(run_on_commit, account, action, at=at)
        assert probe.result["healthy"] is True, probe.result
        following = Task.objects.get(pk=probe.result["nextProbe"])
        assert round((following.scheduled_for - probe.started_at).total_seconds()) == 300


def test_scheduler_resources_names_a_held_comment_service(monkeypatch, run_on_commit):
    from django.core.management import call_command

    account = account_get_or_create(platform="tiktok")
    dm_services.health_store(
        account=account,
        action="comment",
        healthy=False,
        logged_in=None,
        reason="service down: cannot connect",
        service_limits=None,
        now=timezone.now(),
    )
    monkeypatch.setenv("COLUMNS", "400")  # one line per row: no folded reasons
    out = StringIO()
    call_command("scheduler", "resources", stdout=out)
    row = next(line for line in out.getvalue().splitlines() if "tiktok" in line)
    assert "held: TikTok comments: service down since" in row
