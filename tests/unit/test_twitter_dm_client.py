"""The X DM client against the X simulator, over real HTTP: what only X does
(what every DM client does: tests/unit/test_dm_clients.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dm.clients import TwitterDMClient, UnifiedDMClient
from dm.simulator import TwitterDMSim
from tests.sim_fixtures import configure, running, seen, sent, set_faults

# Tests of the declared contract (retry times, reads that work) mark themselves "kind";
# the real profile's X reads never work and its 429s carry no retry time.
KIND = pytest.mark.parametrize("profile", ["kind"])


@pytest.fixture
def profile():
    return "real"


@pytest.fixture
def sim(profile):
    with running(TwitterDMSim(reply_probability=0, profile=profile)) as server:
        yield server


@pytest.fixture
def client(sim):
    return TwitterDMClient(sim.url, timeout=2)


@KIND
def test_success_false_on_http_200_is_a_failure_not_a_send(profile, sim, client):
    result = client.send("nouser_ghost", "hi")

    assert result.outcome == "failed"
    assert result.retryable is True  # X gives no reason that rules a retry out
    assert "Could not open" in result.reason
    assert sent(sim) == []


@KIND
def test_an_injected_429_is_limited_with_the_retry_time(profile, sim, client):
    set_faults(sim, status_429=1, retry_after_s=120)
    before = datetime.now(UTC)

    result = client.send("alice", "hi")

    assert result.outcome == "limited"
    assert result.retryable is True
    assert result.retry_after is not None
    assert before + timedelta(seconds=115) < result.retry_after < before + timedelta(seconds=130)
    assert sent(sim) == []
    assert client.send("alice", "hi").outcome == "sent"  # the count was one call


def test_a_429_without_a_retry_time_leaves_it_unknown(sim, client):
    set_faults(sim, status_429=1, retry_after_s=None)

    result = client.send("alice", "hi")

    assert (result.outcome, result.retry_after) == ("limited", None)


@KIND
def test_the_hourly_cap_of_the_service_is_a_limit(profile, sim, client):
    configure(sim, hourly_limit=2)
    assert client.send("a", "1").outcome == "sent"
    assert client.send("b", "2").outcome == "sent"

    result = client.send("c", "3")

    assert result.outcome == "limited"
    assert "hourly limit of 2" in result.reason
    assert result.retry_after is not None
    assert len(sent(sim)) == 2


@pytest.mark.parametrize(
    ("faults", "words"),
    [
        ({"status_503": 1}, "Safari"),
        ({"logged_out": True}, "Not logged in"),
        ({"captcha": True}, "CAPTCHA"),
        ({"suspended": True}, "suspended"),
    ],
)
def test_session_problems_need_a_human(sim, client, faults, words):
    set_faults(sim, **faults)

    result = client.send("alice", "hi")

    assert result.outcome == "needs_human"
    assert words in result.reason
    assert sent(sim) == []


@KIND
def test_messages_open_the_conversation_then_read_it(profile, sim, client):
    client.send("alice", "first")

    messages = client.messages("alice", limit=5)

    assert [(m["text"], m["is_outbound"]) for m in messages] == [("first", True)]
    assert isinstance(messages[0]["sent_at"], datetime)
    calls = [(c["method"], c["path"], c["json"], c["query"]) for c in seen(sim)[-2:]]
    assert calls == [
        ("POST", "/api/twitter/conversations/open", {"username": "alice"}, {}),
        ("GET", "/api/twitter/messages", None, {"limit": "5"}),
    ]


@KIND
def test_a_contact_reply_shows_in_the_conversation(profile, sim, client):
    configure(sim, reply_probability=1.0, reply_delay_seconds=0)
    client.send("alice", "hi")

    messages = client.messages("alice")

    assert [m["is_outbound"] for m in messages] == [True, False]


def test_the_unified_client_reads_status_limits_and_conversations(sim, client):
    unified = UnifiedDMClient({"twitter": client})
    client.send("alice", "hello there")

    assert unified.health("twitter")["ok"] is True
    assert unified.status("twitter") == {
        "logged_in": True,
        "on_platform": True,
        "current_url": "https://x.com/direct/inbox/",
    }
    limits = unified.rate_limits("twitter")
    assert limits["messagesSentThisHour"] == 1
    assert limits["status"] == {"limited": False, "suspended": False, "message": "OK"}
    [conversation] = unified.conversations("twitter")
    assert conversation["username"] == "Alice"  # the shown name, as X lists it
    assert conversation["last_message"] == "hello there"
    assert unified.send("twitter", "bob", "yo").outcome == "sent"


def test_discovery_sends_camel_case_criteria(sim, client):
    candidates = client.discover(keywords=["saas"], max_candidates=2, min_score=80, dry_run=True)

    assert candidates == []  # the real X service finds nobody, whatever is sent
    assert seen(sim)[-1]["json"] == {
        "keywords": ["saas"],
        "maxCandidates": 2,
        "minScore": 80,
        "dryRun": True,
    }


def test_the_unified_client_refuses_an_unknown_platform(client):
    with pytest.raises(ValueError, match="linkedin"):
        UnifiedDMClient({"twitter": client}).send("linkedin", "a", "b")


def test_a_malformed_faults_document_is_refused(sim):
    import requests

    answer = requests.post(f"{sim.url}/_sim/faults", json={"status_492": 1}, timeout=5)
    bad_value = requests.post(f"{sim.url}/_sim/faults", json={"captcha": "yes"}, timeout=5)

    assert answer.status_code == 400
    assert "status_492" in answer.json()["error"]
    assert bad_value.status_code == 400


def test_a_probability_of_one_hits_every_send(sim, client):
    set_faults(sim, status_503=1.0)

    assert [client.send("a", "x").outcome for _ in range(3)] == ["needs_human"] * 3
