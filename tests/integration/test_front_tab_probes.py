"""Status probes read Safari's front tab (CONTRACTS.md "Status reads the front tab"): an X
status taken while TikTok's tab is in front is unknown, never "logged out"."""

from contextlib import ExitStack

import pytest
import requests

from dm import services
from dm.accounts import account_get_or_create
from dm.models import AccountLimit
from dm.simulator import ThreadsCommentSim, TikTokDMSim, TwitterDMSim
from dm.simulator.dm_services import FrontTab
from dm.simulator.server import Reply, Request
from dm.simulator.service import ok
from scheduler.models import Pause, Task
from tests import dm_factories as s
from tests.sim_fixtures import configure, running

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_safari(settings):
    """TikTok's and X's simulators sharing one Safari front tab, as `simulate` runs them."""
    s.open_all_day(settings, "tiktok")
    front = FrontTab()
    with ExitStack() as stack:
        tiktok = stack.enter_context(running(TikTokDMSim(front_tab=front)))
        twitter = stack.enter_context(running(TwitterDMSim(front_tab=front)))
        settings.SERVICE_URLS = {
            **settings.SERVICE_URLS,
            "tiktok_dm": tiktok.url,
            "twitter_dm": twitter.url,
        }
        yield tiktok, twitter


def _probe_twitter(run_on_commit):
    account = account_get_or_create(platform="twitter", handle="", host="local")
    probe = services.probe_schedule(account=account)
    s.cycle(run_on_commit)
    probe.refresh_from_db()
    assert probe.status == "completed", probe.error
    return probe, AccountLimit.objects.get(account=account, action="dm")


def test_x_is_not_held_when_a_tiktok_send_brought_tiktoks_tab_forward(
    api, one_safari, run_on_commit
):
    _tiktok, twitter = one_safari
    _, limit = _probe_twitter(run_on_commit)  # X's own tab in front: logged in
    assert (limit.healthy, limit.logged_in) == (True, True)
    task = s.send_via_api(api, "tiktok", "maya_builds", "Hi Maya!")
    s.cycle(run_on_commit)
    task.refresh_from_db()
    assert task.status == "completed", (task.error, task.wait_reason)
    status = requests.get(f"{twitter.url}/api/twitter/status", timeout=5).json()
    assert status["isOnTwitter"] is False  # the simulator reads the front tab, as X does
    assert status["isLoggedIn"] is False
    assert "tiktok.com" in status["currentUrl"]
    Task.objects.filter(type="probe").delete()
    probe, limit = _probe_twitter(run_on_commit)
    assert not Pause.objects.filter(platform="twitter").exists()
    assert limit.logged_in is True  # the last known state stands
    assert probe.result["reason"].startswith("session unknown")
    mine = next(
        p
        for p in api.get("/api/resources/platforms").json()["platforms"]
        if p["platform"] == "twitter"
    )
    assert mine["isLoggedIn"] is not False


def test_x_on_its_own_site_and_logged_out_is_still_held(one_safari, run_on_commit):
    _, twitter = one_safari
    configure(twitter, front_url="https://x.com/i/flow/login")
    requests.post(f"{twitter.url}/_sim/faults", json={"logged_out": True}, timeout=5)
    _, limit = _probe_twitter(run_on_commit)
    assert limit.logged_in is False
    assert Pause.objects.filter(platform="twitter", kind="health").exists()


class FrontTabThreads(ThreadsCommentSim):
    """Threads' comment service as its status reads: Safari's front document, here TikTok's."""

    def status(self, request: Request) -> Reply:
        return ok(
            {
                "isLoggedIn": False,
                "isOnThreads": False,
                "currentUrl": "https://www.tiktok.com/messages",
                "commentsThisHour": 0,
                "commentsToday": 0,
            }
        )


def test_a_comment_probe_with_another_site_in_front_holds_nothing(settings, run_on_commit):
    with running(FrontTabThreads()) as server:
        settings.SERVICE_URLS = {**settings.SERVICE_URLS, "threads_comments": server.url}
        account = account_get_or_create(platform="threads", handle="", host="local")
        probe = services.probe_schedule(account=account, action="comment")
        s.cycle(run_on_commit)
        probe.refresh_from_db()
        assert probe.status == "completed", probe.error
        assert probe.result["reason"].startswith("session unknown")
        assert not Pause.objects.filter(platform="threads").exists()
        limit = AccountLimit.objects.get(account=account, action="comment")
        assert limit.logged_in is not False
