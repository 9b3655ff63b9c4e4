"""The comment clients against the four comment simulators, over real HTTP."""

from __future__ import annotations

import pytest
import requests

from dm.clients import CommentsClient, CommentServiceClient
from dm.simulator import (
    InstagramCommentSim,
    ThreadsCommentSim,
    TikTokCommentSim,
    TwitterCommentSim,
)
from tests.sim_fixtures import running, seen, sent, set_faults

SIMS = {
    "threads": ThreadsCommentSim,
    "instagram": InstagramCommentSim,
    "tiktok": TikTokCommentSim,
    "twitter": TwitterCommentSim,
}
VIDEO = "https://www.tiktok.com/@someone/video/123"


@pytest.fixture(params=list(SIMS))
def platform_sim(request):
    with running(SIMS[request.param](token="s3cret", time_scale=1000)) as server:
        yield request.param, server


def test_every_post_carries_the_bearer_token(platform_sim):
    platform, sim = platform_sim
    client = CommentServiceClient(platform, base_url=sim.url, token="s3cret", timeout=2)

    result = client.post(VIDEO, "Great point!")

    assert result.sent
    call = seen(sim)[-1]
    assert call["path"] == f"/api/{platform}/comments/post"
    assert call["json"] == {"text": "Great point!", "postUrl": VIDEO}
    assert call["authorization"] == "Bearer s3cret"
    assert sent(sim)[0]["post_url"] == VIDEO
    assert client.counters()["commentsThisHour"] == 1


def test_without_the_token_the_service_answers_401(platform_sim):
    platform, sim = platform_sim

    answer = requests.post(
        f"{sim.url}/api/{platform}/comments/post",
        json={"text": "x", "postUrl": VIDEO},
        timeout=5,
    )
    result = CommentServiceClient(platform, base_url=sim.url, token="wrong").post(VIDEO, "x")

    assert answer.status_code == 401
    assert answer.json() == {
        "error": "Unauthorized",
        "message": "A valid Bearer token is required",
    }
    assert (result.outcome, result.retryable) == ("failed", False)
    assert sent(sim) == []


def test_the_comment_service_limits_and_sessions_are_normalised(platform_sim):
    platform, sim = platform_sim
    client = CommentServiceClient(platform, base_url=sim.url, token="s3cret", timeout=2)

    set_faults(sim, status_429=1)
    assert client.post(VIDEO, "a").outcome == "limited"
    set_faults(sim, logged_out=True)
    assert client.post(VIDEO, "a").outcome == "needs_human"
    assert client.status()["logged_in"] is False


def test_x_comments_over_280_characters_never_reach_the_service():
    with running(TwitterCommentSim(token="t", time_scale=1000)) as sim:
        client = CommentsClient(
            {"twitter": CommentServiceClient("twitter", base_url=sim.url, token="t")}
        )

        result = client.post("twitter", "https://x.com/a/status/1", "x" * 281)

        assert (result.outcome, result.retryable) == ("failed", False)
        assert seen(sim) == []
        assert client.post("twitter", "https://x.com/a/status/1", "x" * 280).sent
        assert client.health("twitter")["ok"] is True


def test_tiktok_wants_a_full_video_url():
    with running(TikTokCommentSim(token="t", time_scale=1000)) as sim:
        client = CommentServiceClient("tiktok", base_url=sim.url, token="t")

        result = client.post("https://www.tiktok.com/@someone", "nice")

    assert (result.outcome, result.retryable) == ("failed", False)
    assert "/video/" in result.reason


def test_the_token_comes_from_settings(settings):
    settings.SERVICE_TOKENS = {**settings.SERVICE_TOKENS, "threads_comments": "from-settings"}
    with running(ThreadsCommentSim(token="from-settings", time_scale=1000)) as sim:
        settings.SERVICE_URLS = {**settings.SERVICE_URLS, "threads_comments": sim.url}

        assert CommentsClient().post("threads", "https://threads.net/p/1", "hi").sent


def test_an_unknown_platform_is_refused():
    with pytest.raises(ValueError, match="myspace"):
        CommentsClient({}).post("myspace", "u", "t")
