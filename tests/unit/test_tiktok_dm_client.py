"""The TikTok DM client against the TikTok simulator, over real HTTP: what only TikTok does
(what every DM client does: tests/unit/test_dm_clients.py)."""

from __future__ import annotations

import pytest

from dm.clients import SendOutcomeUnknown, TikTokDMClient
from dm.simulator import TikTokDMSim
from tests.sim_fixtures import running, seen, sent, set_faults


@pytest.fixture
def sim():
    with running(TikTokDMSim(reply_probability=0)) as server:
        yield server


@pytest.fixture
def client(sim):
    return TikTokDMClient(sim.url, timeout=2)


def test_a_tiktok_send_answers_with_its_rate_counters(client):
    # The route, the JSON and the verified flag: tests/unit/test_dm_clients.py.
    result = client.send("maya", "Hey Maya")

    assert result.raw["rateLimits"] == {"hourly": 1, "daily": 1}


def test_a_second_cold_send_is_refused_for_good(sim, client):
    client.send("maya", "Hey Maya")

    result = client.send("maya", "Hey again")

    assert result.outcome == "failed"
    assert result.retryable is False
    assert result.reason.startswith("already_messaged")
    assert len(sent(sim)) == 1


def test_an_unknown_profile_is_an_identity_mismatch(client):
    result = client.send("nouser_x", "hi")

    assert (result.outcome, result.retryable) == ("failed", False)
    assert "identity_mismatch" in result.reason


def test_tiktok_remembers_a_recipient_even_when_the_answer_was_lost(sim, client):
    set_faults(sim, crash_after_delivery=1)
    with pytest.raises(SendOutcomeUnknown):
        client.send("maya", "hi")

    assert client.send("maya", "hi").reason.startswith("already_messaged")
    assert len(sent(sim)) == 1


def test_messages_are_read_by_conversation_id(sim, client):
    client.send("maya", "hello")

    [message] = client.messages("maya", limit=10)

    assert message["text"] == "hello"
    assert message["is_outbound"] is True
    assert message["id"]
    call = seen(sim)[-1]
    assert (call["method"], call["path"]) == ("GET", "/api/tiktok/messages")
    assert call["query"] == {"conversationId": "maya", "limit": "10"}


def test_conversations_and_limits_are_normalised(sim, client):
    client.send("maya", "hello")

    [conversation] = client.conversations()
    limits = client.rate_limits()

    assert conversation["username"] == "Maya"  # the shown name, as TikTok lists it
    assert conversation["last_message_at"] is not None
    assert conversation["unread"] == 0
    assert limits["nextDelay"] > 0
    assert limits["limits"]["messagesPerHour"] == 10
    assert client.status()["on_platform"] is True
    assert client.health()["raw"] == {"status": "ok", "service": "tiktok-dm", "port": 3002}


def test_discovery_returns_candidates(sim, client):
    candidates = client.discover(hashtags=["founder"], max_candidates=3)

    assert len(candidates) == 3
    assert seen(sim)[-1]["path"] == "/api/prospect/discover"
    assert seen(sim)[-1]["json"] == {"hashtags": ["founder"], "maxCandidates": 3}
