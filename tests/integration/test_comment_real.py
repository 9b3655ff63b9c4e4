"""Comments against the comment simulators' `real` profile (CONTRACTS.md "How the real
services behave"), through the dispatcher, runner, handler, ledger and client, over HTTP."""

from __future__ import annotations

import threading
import time

import pytest
import requests
from django.utils import timezone

from dm import services
from dm.accounts import account_get_or_create
from dm.clients import CommentServiceClient
from dm.models import AccountLimit, LedgerState, SendLedger
from dm.simulator import (
    InstagramCommentSim,
    ThreadsCommentSim,
    TikTokCommentSim,
    TwitterCommentSim,
)
from scheduler.models import Event, Pause, Task
from tests import dm_factories as s
from tests.sim_fixtures import configure, running, seen, sent, set_faults

pytestmark = pytest.mark.django_db

SIMS = {
    "threads": ThreadsCommentSim,
    "instagram": InstagramCommentSim,
    "tiktok": TikTokCommentSim,
    "twitter": TwitterCommentSim,
}
# The real services' own default tokens; TikTok's service has no auth unless a token is set.
REAL_TOKENS = {
    "threads": "threads-local-dev-token",
    "instagram": "test-token",
    "tiktok": "",
    "twitter": "test-token-12345",
}
POST = {
    "threads": "https://www.threads.net/@maya/post/1",
    "instagram": "https://www.instagram.com/p/abc/",
    "tiktok": "https://www.tiktok.com/@maya/video/123",
    "twitter": "https://x.com/maya/status/1",
}
SCALE = 100.0  # a post takes 50-120 ms; the 504 comes at 300 ms


@pytest.fixture
def open_comments(settings):
    settings.DM_ACTIVE_START = settings.DM_ACTIVE_END = "00:00"
    settings.DM_LIMITS = [f"{p}:comment=10/30/0-0" for p in SIMS]


def serve(settings, platform: str, **options):
    """A real-profile comment simulator with the real service's own token, our client on it."""
    sim = running(SIMS[platform](token=REAL_TOKENS[platform], time_scale=SCALE, **options))
    server = sim.__enter__()
    settings.SERVICE_URLS = {**settings.SERVICE_URLS, f"{platform}_comments": server.url}
    return sim, server


@pytest.fixture
def sim_for(settings, open_comments):
    started = []

    def start(platform: str, **options):
        sim, server = serve(settings, platform, **options)
        started.append(sim)
        return server

    yield start
    for sim in started:
        sim.__exit__(None, None, None)


def post_comment(run_on_commit, platform: str, text: str = "Great point!", url: str = ""):
    task, _ = services.comment_post(platform=platform, post_url=url or POST[platform], text=text)
    s.cycle(run_on_commit)
    task.refresh_from_db()
    return task


def wait_for_deliveries(server, count: int, seconds: float = 3.0) -> list[dict]:
    """The simulator's own record (read in process: the service may be down meanwhile)."""
    deadline = time.monotonic() + seconds
    while len(server.service.delivered) < count and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # anything more would land by now
    return [d.as_dict() for d in server.service.delivered]


@pytest.mark.parametrize("platform", list(SIMS))
def test_our_default_tokens_are_the_services_own(sim_for, run_on_commit, platform):
    server = sim_for(platform)

    task = post_comment(run_on_commit, platform)

    assert task.status == "completed", task.error
    assert len(sent(server)) == 1
    expected = f"Bearer {REAL_TOKENS[platform]}" if REAL_TOKENS[platform] else None
    assert seen(server)[-1]["authorization"] == expected


@pytest.mark.parametrize("platform", ["threads", "instagram", "twitter"])
def test_the_services_refuse_any_other_token_with_401(sim_for, platform):
    server = sim_for(platform)

    answer = requests.post(
        f"{server.url}/api/{platform}/comments/post",
        json={"text": "x", "postUrl": POST[platform]},
        headers={"Authorization": "Bearer dev-token"},
        timeout=5,
    )

    assert answer.status_code == 401
    assert answer.json()["error"] == "Unauthorized"
    assert sent(server) == []


@pytest.mark.parametrize("platform", ["threads", "instagram"])
def test_a_504_blocks_for_a_human_and_the_comment_is_never_posted_twice(
    sim_for, run_on_commit, platform
):
    server = sim_for(platform)
    configure(server, slow_next=1)

    task = post_comment(run_on_commit, platform)

    assert task.status == "blocked", task.error
    assert "outcome is unknown" in task.wait_reason
    assert "504" in task.wait_reason
    entry = SendLedger.objects.get(idempotency_key=task.idempotency_key)
    assert entry.state == LedgerState.BLOCKED
    s.cycle(run_on_commit)  # nothing runs a blocked comment again
    assert len(wait_for_deliveries(server, 1)) == 1  # the service went on and posted it once
    limit = AccountLimit.objects.get(account=entry.account, action="comment")
    assert limit.healthy is None  # an unknown outcome says nothing about the account


def test_instagram_down_after_its_504_reads_as_down_never_as_an_answer(sim_for, run_on_commit):
    server = sim_for("instagram")
    configure(server, slow_next=1, down_after_504=200)  # 2 s down at this scale

    blocked = post_comment(run_on_commit, "instagram")
    time.sleep(0.1)
    client = CommentServiceClient("instagram")
    health = client.health()
    after = client.post(POST["instagram"] + "2", "Second comment")

    assert blocked.status == "blocked"
    assert health["ok"] is False
    assert "cannot connect" in health["detail"]
    assert (after.outcome, after.retryable) == ("failed", True)  # refused: nothing was sent
    assert "unreachable" in after.reason
    assert len(wait_for_deliveries(server, 1)) == 1


def test_a_per_service_post_timeout_covers_a_slow_post(sim_for, run_on_commit, settings):
    settings.HTTP_TIMEOUT_SECONDS = 0.1  # the global read timeout is not the comments' one
    server = sim_for("tiktok")
    configure(server, post_seconds=20)  # 200 ms at this scale

    task = post_comment(run_on_commit, "tiktok")

    assert task.status == "completed", task.error
    assert len(sent(server)) == 1


def test_a_lost_answer_past_the_post_timeout_blocks_and_never_posts_twice(
    sim_for, run_on_commit, settings
):
    settings.COMMENT_POST_TIMEOUTS = {**settings.COMMENT_POST_TIMEOUTS, "twitter_comments": 0.1}
    server = sim_for("twitter")
    configure(server, post_seconds=25)

    task = post_comment(run_on_commit, "twitter")
    s.cycle(run_on_commit)

    assert task.status == "blocked"
    assert len(wait_for_deliveries(server, 1)) == 1


def test_x_filters_sql_words_and_counts_280_characters_after_the_rewrite(sim_for, run_on_commit):
    server = sim_for("twitter")
    long = ("select " * 39).strip()  # 272 characters as written, 779 as X would post them

    refused = post_comment(run_on_commit, "twitter", text=long)
    posted = post_comment(run_on_commit, "twitter", text="We should update the docs")

    assert refused.status == "failed"
    assert "280" in refused.error
    assert posted.status == "completed", posted.error
    assert posted.result["postedText"] == "We should [FILTERED:update] the docs"
    assert [d["text"] for d in sent(server)] == ["We should [FILTERED:update] the docs"]
    assert Event.objects.filter(task=posted, kind="comment.rewritten").exists()


@pytest.mark.parametrize("platform", ["tiktok", "twitter"])
def test_the_posted_text_and_strategy_are_recorded(sim_for, run_on_commit, platform):
    sim_for(platform)

    task = post_comment(run_on_commit, platform, text="Love this")

    assert task.status == "completed", task.error
    assert task.result["postedText"] == "Love this"
    assert task.result["strategy"]
    assert task.result["usedAI"] is False


def test_instagram_sends_no_verified_and_the_comment_counts_as_sent(sim_for, run_on_commit):
    server = sim_for("instagram")

    answer = CommentServiceClient("instagram").post(POST["instagram"], "first")
    task = post_comment(run_on_commit, "instagram")

    assert answer.sent
    assert "verified" not in answer.raw
    assert task.status == "completed"
    assert task.result["verified"] is None
    assert len(sent(server)) == 2
    assert SendLedger.objects.get(idempotency_key=task.idempotency_key).state == LedgerState.SENT


@pytest.mark.parametrize(
    ("platform", "url", "why"),
    [
        ("tiktok", "https://www.tiktok.com/@maya/video/commentsoff1", "comments_off"),
        ("twitter", "https://x.com/maya/status/nopost", "Post not found"),
    ],
)
def test_a_target_problem_fails_for_good_and_leaves_the_account_healthy(
    sim_for, run_on_commit, platform, url, why
):
    server = sim_for(platform)

    task = post_comment(run_on_commit, platform, url=url)

    assert task.status == "failed"
    assert why in task.error
    assert task.retry_count == 0
    assert sent(server) == []
    limit = AccountLimit.objects.get(account__platform=platform, action="comment")
    assert (limit.healthy, limit.cooldown_until) == (None, None)
    assert not Task.objects.filter(type="probe").exists()


def test_comment_status_with_another_site_in_front_is_unknown_not_logged_out(
    sim_for, run_on_commit
):
    server = sim_for("twitter")
    configure(server, front_tab="other")
    account = account_get_or_create(platform="twitter", handle="")
    task = services.probe_schedule(account=account, action="comment")

    s.cycle(run_on_commit)
    task.refresh_from_db()

    assert task.status == "completed", task.error
    # Unknown, not logged out: nothing is held, and the last known state stands.
    assert (task.result["healthy"], task.result["loggedIn"]) == (None, None)
    assert "front tab" in task.result["reason"]
    limit = AccountLimit.objects.get(account=account, action="comment")
    assert limit.healthy is not False
    assert limit.logged_in is not False
    assert not Pause.objects.exists()


def test_comment_status_on_its_own_site_still_reports_a_logged_out_session(sim_for, run_on_commit):
    server = sim_for("twitter")
    set_faults(server, logged_out=True)
    account = account_get_or_create(platform="twitter", handle="")
    task = services.probe_schedule(account=account, action="comment")

    s.cycle(run_on_commit)
    task.refresh_from_db()

    assert (task.result["healthy"], task.result["loggedIn"]) == (False, False)


def test_a_post_interrupted_by_a_lost_worker_asks_a_human_to_check_the_post(sim_for, run_on_commit):
    server = sim_for("threads")
    task, _ = services.comment_post(platform="threads", post_url=POST["threads"], text="Hi")
    account = account_get_or_create(platform="threads", handle="")
    spec = services.SendSpec(
        task.idempotency_key, task.pk, "threads", "comment", "", POST["threads"], "Hi"
    )
    services.ledger_begin(spec=spec, account=account, now=timezone.now())  # then the kill

    s.cycle(run_on_commit)
    task.refresh_from_db()

    assert task.status == "blocked"
    assert "check the post" in task.wait_reason
    assert "conversation" not in task.wait_reason
    assert sent(server) == []  # never posted blind


def test_the_simulator_says_its_tab_is_busy_while_a_post_waits(sim_for):
    """What the chaos suite and the kill tests wait for before they kill a worker mid-post."""
    server = sim_for("threads")
    configure(server, post_seconds=25)  # 0.25 s at this scale, before the 504 at 0.3 s

    def tab_busy() -> bool:
        return bool(requests.get(f"{server.url}/_sim/tab", timeout=5).json()["busy"])

    answers: list[int] = []
    post = threading.Thread(
        target=lambda: answers.append(
            requests.post(
                f"{server.url}/api/threads/comments/post",
                json={"text": "x", "postUrl": POST["threads"]},
                headers={"Authorization": f"Bearer {REAL_TOKENS['threads']}"},
                timeout=10,
            ).status_code
        )
    )
    assert not tab_busy()
    post.start()
    deadline = time.monotonic() + 5
    while not tab_busy() and time.monotonic() < deadline:
        time.sleep(0.01)
    busy_while_posting = not answers and tab_busy()
    post.join(10)
    assert (busy_while_posting, answers, tab_busy()) == (True, [200], False)
