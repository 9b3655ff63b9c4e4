"""The Instagram DM client against its simulator, over real HTTP: what only Instagram does
(what every DM client does: tests/unit/test_dm_clients.py)."""

from __future__ import annotations

import pytest

from dm.clients import InstagramDMClient, UnifiedDMClient
from dm.simulator import InstagramDMSim
from tests.sim_fixtures import running, seen, sent, set_faults


@pytest.fixture
def sim():
    with running(InstagramDMSim(reply_probability=0)) as server:
        yield server


@pytest.fixture
def client(sim):
    return InstagramDMClient(sim.url, timeout=2)


def test_no_conversation_is_a_final_failure(sim, client):
    result = client.send("nouser_1", "hi")

    assert (result.outcome, result.retryable) == ("failed", False)
    assert sent(sim) == []


def test_a_reply_goes_into_a_known_thread(sim, client):
    client.send("leo", "first")
    [conversation] = client.conversations()

    result = UnifiedDMClient({"instagram": client}).send_to_thread(
        conversation["thread_id"], "second"
    )

    assert result.outcome == "sent"
    assert seen(sim)[-1]["json"] == {"threadId": conversation["thread_id"], "text": "second"}
    assert [m["text"] for m in client.messages("leo")] == ["first", "second"]
    assert seen(sim)[-2]["path"] == "/api/conversations/open"


def test_an_unknown_thread_is_a_final_failure(client):
    assert client.send_to_thread("t999", "hi").outcome == "failed"


def test_health_carries_the_counters(sim, client):
    client.send("leo", "hi")

    health = client.health()

    assert health["ok"] is True
    assert health["raw"]["rateLimits"]["messagesSentThisHour"] == 1
    assert client.rate_limits()["limits"]["messagesPerDay"] == 30


def test_a_demo_seed_has_unread_conversations():
    with running(InstagramDMSim(seed=True)) as server:
        conversations = InstagramDMClient(server.url).conversations()

    assert len(conversations) == 3
    assert all(c["unread"] == 1 for c in conversations)


def test_reset_forgets_everything(sim, client):
    client.send("leo", "hi")
    set_faults(sim, logged_out=True)

    import requests

    requests.post(f"{sim.url}/_sim/reset", timeout=5)

    assert sent(sim) == []
    assert client.status()["logged_in"] is True
    assert client.conversations() == []
