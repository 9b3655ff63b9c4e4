"""What every DM client does the same way, against each platform's simulator over real HTTP.

What differs between the platforms is in one table (`PLATFORMS`); each platform's own
behaviour stays in tests/unit/test_<platform>_dm_client.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from dm.clients import InstagramDMClient, SendOutcomeUnknown, TikTokDMClient, TwitterDMClient
from dm.simulator import InstagramDMSim, TikTokDMSim, TwitterDMSim
from tests.sim_fixtures import running, seen, sent, set_faults


@dataclass(frozen=True)
class Platform:
    name: str
    sim: type
    client: type
    send_path: str
    recipient: str  # a profile the simulator knows


PLATFORMS = [
    Platform("tiktok", TikTokDMSim, TikTokDMClient, "/api/tiktok/messages/send-to", "maya"),
    Platform("instagram", InstagramDMSim, InstagramDMClient, "/api/messages/send-to", "leo"),
    Platform("twitter", TwitterDMSim, TwitterDMClient, "/api/twitter/messages/send-to", "alice"),
]


@pytest.fixture(params=PLATFORMS, ids=lambda p: p.name)
def case(request) -> Platform:
    return request.param


@pytest.fixture
def sim(case):
    with running(case.sim(reply_probability=0)) as server:
        yield server


@pytest.fixture
def client(case, sim):
    return case.client(sim.url, timeout=2)


def test_a_send_posts_username_and_text_to_the_platform_route_and_is_verified(case, sim, client):
    result = client.send(case.recipient, "Hello there")

    assert (result.outcome, result.verified, result.retryable) == ("sent", True, False)
    call = seen(sim)[-1]
    assert (call["method"], call["path"]) == ("POST", case.send_path)
    assert call["json"] == {"username": case.recipient, "text": "Hello there"}
    assert [(d["username"], d["text"]) for d in sent(sim)] == [(case.recipient, "Hello there")]


@pytest.mark.parametrize(
    ("faults", "outcome"),
    [
        ({"status_429": 1}, "limited"),
        ({"status_503": 1}, "needs_human"),
        ({"logged_out": True}, "needs_human"),
        ({"captcha": True}, "needs_human"),
    ],
)
def test_faults_are_normalised_and_nothing_is_sent(case, sim, client, faults, outcome):
    set_faults(sim, **faults)

    assert client.send(case.recipient, "hi").outcome == outcome
    assert sent(sim) == []


def test_an_unverified_success_is_sent_and_never_retryable(case, sim, client):
    set_faults(sim, unverified=1)

    result = client.send(case.recipient, "hi")

    assert (result.outcome, result.verified, result.retryable) == ("sent", False, False)
    assert [d["text"] for d in sent(sim)] == ["hi"]


def test_a_crash_after_delivery_is_an_unknown_outcome_but_was_delivered(case, sim, client):
    set_faults(sim, crash_after_delivery=1)

    with pytest.raises(SendOutcomeUnknown):
        client.send(case.recipient, "hi")

    assert [(d["username"], d["text"]) for d in sent(sim)] == [(case.recipient, "hi")]


def test_a_read_timeout_is_an_unknown_outcome(case, sim):
    set_faults(sim, latency_ms=600)

    with pytest.raises(SendOutcomeUnknown):
        case.client(sim.url, timeout=0.2).send(case.recipient, "hi")


def test_a_service_that_is_down_fails_retryably_without_sending(case):
    result = case.client("http://127.0.0.1:9", timeout=1).send(case.recipient, "hi")

    assert (result.outcome, result.retryable, result.unreachable) == ("failed", True, True)


def test_a_logged_out_session_shows_in_status(case, sim, client):
    assert client.status()["logged_in"] is True
    set_faults(sim, logged_out=True)

    assert client.status()["logged_in"] is False
