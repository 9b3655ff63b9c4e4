"""CRM input beyond what the database holds answers 400 naming the field, on both profiles,
and writes nothing (issue 12)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from crm.models import Contact, Message, PlatformAccount
from crm.services import apikey_create, contact_create

pytestmark = pytest.mark.django_db

HUGE = 10**30


@pytest.fixture
def api():
    _, raw = apikey_create(name="tests")
    return APIClient(HTTP_X_API_KEY=raw)


@pytest.fixture
def maya():
    return contact_create(
        data={"display_name": "Maya"},
        platform_accounts=[{"platform": "instagram", "username": "maya"}],
    )


def assert_names(answer, field):
    assert answer.status_code == 400, answer.content
    assert answer.json()["success"] is False
    assert field in answer.json()["error"]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"/api/contacts?offset={HUGE}", "offset"),
        (f"/api/contacts?limit={HUGE}", "limit"),
        (f"/api/conversations?contact_id={HUGE}", "contact_id"),
        (f"/api/conversations?offset={HUGE}", "offset"),
        (f"/api/platform-accounts?contact_id={HUGE}", "contact_id"),
        ("/api/contacts?search=" + "+".join(f"w{i}" for i in range(600)), "search"),
        ("/api/contacts?search=" + "x" * 300, "search"),
        ("/api/conversations/state?platform=instagram", "username"),
        ("/api/campaigns/1/targets?platform=nowhere", "platform"),
    ],
)
def test_query_parameters_out_of_bounds_answer_400_naming_them(api, url, field):
    if "campaigns" in url:  # the campaign's own id (Postgres does not reuse ids)
        made = api.post("/api/campaigns", {"name": "c"}, format="json").json()
        url = url.replace("/campaigns/1/", f"/campaigns/{made['id']}/")
    assert_names(api.get(url), field)


@pytest.mark.parametrize("url", [f"/api/contacts/{HUGE}", f"/api/conversations/{HUGE}/messages"])
def test_an_id_beyond_the_id_column_is_not_found(api, url):
    assert api.get(url).status_code == 404


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("follower_count", 10**12),
        ("follower_count", 2**62),
        ("platform_user_id", "9" * 101),
        ("username", "u" * 151),
        ("display_name", "d" * 201),
    ],
)
def test_a_handle_beyond_its_columns_is_refused_and_not_stored(api, maya, field, value):
    body = {"contact_id": maya.pk, "platform": "tiktok", "username": "maya_t", field: value}
    assert_names(api.post("/api/platform-accounts", body, format="json"), field)
    assert PlatformAccount.objects.count() == 1


def test_a_contact_whose_handle_does_not_fit_writes_no_contact(api):
    body = {
        "display_name": "Lee",
        "platform_accounts": [
            {"platform": "tiktok", "username": "lee", "platform_user_id": "x" * 500}
        ],
    }
    assert_names(api.post("/api/contacts", body, format="json"), "platform_user_id")
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"platform": "tiktok", "username": "u" * 151}, "username"),
        ({"platform": "tiktok", "username": "ok", "display_name": "d" * 201}, "display_name"),
        ({"platform": "tiktok", "username": "ok", "display_name": {"a": 1}}, "display_name"),
        (
            {"platform": "tiktok", "username": "ok", "fields": {"promises_made": 2**40}},
            "promises_made",
        ),
    ],
)
def test_the_upsert_bounds_its_fields(api, body, field):
    assert_names(api.post("/api/contacts/upsert", body, format="json"), field)
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    "sent_at", [10**20, -(10**20), "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-05:00", 1e300]
)
def test_a_sync_with_an_insane_time_answers_400_and_syncs_nothing(api, sent_at):
    body = {
        "platform": "instagram",
        "conversations": [
            {
                "username": "maya",
                "messages": [{"text": "hi", "direction": "inbound", "sent_at": sent_at}],
            }
        ],
    }
    answer = api.post("/api/sync/dm", body, format="json")
    assert_names(answer, "conversations[0].messages[0].sent_at")
    assert not Message.objects.exists()
    assert not Contact.objects.exists()


def test_a_sync_in_epoch_milliseconds_still_works(api):
    body = {
        "platform": "instagram",
        "conversations": [
            {
                "username": "maya",
                "messages": [{"text": "hi", "is_outbound": False, "sent_at": 1767225600000}],
            }
        ],
    }
    answer = api.post("/api/sync/dm", body, format="json")
    assert answer.status_code == 200
    assert answer.json()["messages_synced"] == 1


@pytest.mark.parametrize(
    ("conversation", "field"),
    [
        ({"username": "u" * 151}, "conversations[0].username"),
        ({"username": "ok", "display_name": "d" * 201}, "conversations[0].display_name"),
        (
            {
                "username": "ok",
                "messages": [
                    {
                        "text": "t",
                        "direction": "inbound",
                        "sent_at": "2026-01-01T00:00:00Z",
                        "id": "i" * 201,
                    }
                ],
            },
            "conversations[0].messages[0].id",
        ),
    ],
)
def test_a_sync_beyond_the_columns_answers_400_naming_the_place(api, conversation, field):
    answer = api.post(
        "/api/sync/dm", {"platform": "instagram", "conversations": [conversation]}, format="json"
    )
    assert_names(answer, field)
    assert not Contact.objects.exists()
