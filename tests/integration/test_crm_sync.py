"""POST /api/sync/dm: batches, chunks, de-duplication and idempotency."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from crm.models import Contact, Conversation, Message
from crm.services import apikey_create
from crm.sync import dm_sync
from crm.sync_input import parse_sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    _, raw = apikey_create(name="sync")
    return APIClient(HTTP_X_API_KEY=raw)


def conv(username, *messages, display_name=None):
    return {"username": username, "display_name": display_name, "messages": list(messages)}


def msg(text, at, direction="inbound", **extra):
    return {"text": text, "direction": direction, "sent_at": at, **extra}


def test_the_same_payload_twice_answers_zeros(api):
    payload = {
        "platform": "instagram",
        "conversations": [
            conv(
                "ana",
                msg("hi!", "2025-01-01T10:00:00Z"),
                msg("yo", "2025-01-01T10:01:00Z", "outbound"),
            ),
            conv("ben", msg("hey", "2025-01-02T10:00:00+02:00"), display_name="Ben S"),
        ],
    }
    first = api.post("/api/sync/dm", payload, format="json").json()
    replies = first.pop("new_replies")
    assert first == {
        "synced": True,
        "contacts_created": 2,
        "contacts_updated": 0,
        "conversations_synced": 2,
        "messages_synced": 3,
        "sync_id": first["sync_id"],
    }
    assert [(r["username"], r["text"]) for r in replies] == [("ana", "hi!"), ("ben", "hey")]
    second = api.post("/api/sync/dm", payload, format="json").json()
    assert second["new_replies"] == []
    assert [
        second[k]
        for k in ("contacts_created", "contacts_updated", "conversations_synced", "messages_synced")
    ] == [0, 0, 0, 0]
    assert Message.objects.count() == 3
    assert Contact.objects.get(handles__username="ben").display_name == "Ben S"


def test_new_messages_in_a_known_conversation_update_the_contact(api):
    api.post(
        "/api/sync/dm",
        {"platform": "tiktok", "conversations": [conv("cy", msg("a", "2025-01-01T10:00:00Z"))]},
        format="json",
    )
    later = {
        "platform": "tiktok",
        "conversations": [
            conv("CY", msg("a", "2025-01-01T10:00:30Z"), msg("b?", "2025-01-03T10:00:00Z"))
        ],
    }
    answer = api.post("/api/sync/dm", later, format="json").json()
    assert answer["contacts_created"] == 0
    assert answer["contacts_updated"] == 1
    assert answer["messages_synced"] == 1  # "a" in the same minute is the same message
    contact = Contact.objects.get()
    assert contact.total_messages_received == 2
    assert contact.last_message_at.isoformat().startswith("2025-01-03")
    assert Conversation.objects.get().message_count == 2


def test_service_ids_decide_identity_when_present(api):
    same_minute = [
        msg("ok", "2025-01-01T10:00:00Z", id="m1"),
        msg("ok", "2025-01-01T10:00:10Z", id="m2"),
    ]
    payload = {"platform": "twitter", "conversations": [conv("dee", *same_minute)]}
    assert api.post("/api/sync/dm", payload, format="json").json()["messages_synced"] == 2
    assert api.post("/api/sync/dm", payload, format="json").json()["messages_synced"] == 0


def test_a_message_first_seen_without_id_adopts_the_id_later(api):
    base = {
        "platform": "twitter",
        "conversations": [conv("eli", msg("hello", "2025-01-01T10:00:00Z"))],
    }
    api.post("/api/sync/dm", base, format="json")
    with_id = {
        "platform": "twitter",
        "conversations": [conv("eli", msg("hello", "2025-01-01T10:00:05Z", id="x9"))],
    }
    assert api.post("/api/sync/dm", with_id, format="json").json()["messages_synced"] == 1
    assert Message.objects.get().service_id == "x9"
    assert api.post("/api/sync/dm", with_id, format="json").json()["messages_synced"] == 0


def test_the_same_username_twice_in_a_payload_is_one_conversation(api):
    payload = {
        "platform": "instagram",
        "conversations": [
            conv("fay", msg("one", "2025-01-01T10:00:00Z")),
            conv("Fay", msg("two", "2025-01-01T11:00:00Z")),
        ],
    }
    answer = api.post("/api/sync/dm", payload, format="json").json()
    assert answer["contacts_created"] == 1
    assert Conversation.objects.get().message_count == 2


def test_more_than_500_conversations_is_a_400(api):
    payload = {"platform": "instagram", "conversations": [conv(f"u{i}") for i in range(501)]}
    answer = api.post("/api/sync/dm", payload, format="json")
    assert answer.status_code == 400
    assert "at most 500" in answer.json()["error"]
    assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ([], "body"),
        ({"platform": "fax", "conversations": []}, "platform"),
        ({"platform": "tiktok"}, "conversations"),
        ({"platform": "tiktok", "conversations": ["x"]}, "conversations[0]: must be an object"),
        ({"platform": "tiktok", "conversations": [{"messages": []}]}, "conversations[0].username"),
        (
            {"platform": "tiktok", "conversations": [{"username": "a", "messages": "x"}]},
            "messages: must be a list",
        ),
        (
            {"platform": "tiktok", "conversations": [conv("a", "x")]},
            "messages[0]: must be an object",
        ),
        (
            {
                "platform": "tiktok",
                "conversations": [conv("a", {"direction": "inbound", "sent_at": "2025-01-01"})],
            },
            "messages[0].text",
        ),
        (
            {
                "platform": "tiktok",
                "conversations": [conv("a", {"text": "t", "direction": "inbound"})],
            },
            "messages[0].sent_at: required",
        ),
        (
            {"platform": "tiktok", "conversations": [conv("a", msg("t", "soon"))]},
            "not an ISO 8601 time",
        ),
        (
            {
                "platform": "tiktok",
                "conversations": [conv("a", msg("t", "2025-01-01", "sideways"))],
            },
            "direction",
        ),
        (
            {
                "platform": "tiktok",
                "conversations": [conv("a", {"text": "t", "sent_at": "2025-01-01"})],
            },
            "is_outbound",
        ),
        (
            {
                "platform": "tiktok",
                "conversations": [conv("a", {"text": "t", "direction": "inbound", "sent_at": [1]})],
            },
            "ISO 8601",
        ),
    ],
)
def test_bad_payloads_are_400s_that_say_where(api, payload, error):
    answer = api.post("/api/sync/dm", payload, format="json")
    assert answer.status_code == 400
    assert error in answer.json()["error"]


def test_epoch_times_and_naive_times_are_read_as_utc():
    _, conversations = parse_sync(
        {
            "platform": "tiktok",
            "conversations": [
                conv(
                    "gus",
                    {"text": "a", "is_outbound": False, "sent_at": 1_735_725_600},
                    {"text": "b", "isOutbound": True, "sentAt": 1_735_725_600_000},
                    {"text": "c", "direction": "inbound", "timestamp": "2025-01-01T10:00:00"},
                )
            ],
        }
    )
    times = [m.sent_at.isoformat() for m in conversations[0].messages]
    assert times == ["2025-01-01T10:00:00+00:00"] * 3
    assert [m.direction for m in conversations[0].messages] == ["inbound", "outbound", "inbound"]


def test_small_chunks_commit_separately_and_still_count_everything():
    _, conversations = parse_sync(
        {
            "platform": "threads",
            "conversations": [conv(f"p{i}", msg("hi", "2025-01-01T10:00:00Z")) for i in range(7)],
        }
    )
    counts, run = dm_sync(platform="threads", conversations=conversations, chunk_size=2)
    assert counts.contacts_created == 7
    assert counts.messages_synced == 7
    assert run.finished_at is not None
    assert run.messages_synced == 7
