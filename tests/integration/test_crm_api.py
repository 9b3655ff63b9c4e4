"""The CRM API at the CONTRACTS.md routes: auth, shapes, pagination, filters, errors."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from crm.models import ApiKey, Contact
from crm.services import apikey_create, apikey_revoke, contact_create
from tests.conftest import api_token, make_user
from tests.crm_factories import CampaignFactory, ContactFactory, PlatformAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    _, raw = apikey_create(name="tests")
    return APIClient(HTTP_X_API_KEY=raw)


def make(name, platform="instagram", username=None, **fields):
    accounts = [{"platform": platform, "username": username or name.split()[0].lower()}]
    return contact_create(data={"display_name": name, **fields}, platform_accounts=accounts)


def test_crm_health_answers_the_old_client_with_its_key(api):
    assert APIClient().get("/api/health").status_code == 401
    answer = api.get("/api/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "service": "crm"}


def test_anonymous_callers_get_a_json_401():
    answer = APIClient().get("/api/contacts")
    assert answer.status_code == 401
    assert answer.json()["success"] is False
    assert "credentials" in answer.json()["error"]


def test_a_wrong_or_revoked_key_is_refused(api):
    assert APIClient(HTTP_X_API_KEY="nope").get("/api/contacts").status_code == 401
    key, raw = apikey_create(name="old")
    assert APIClient(HTTP_X_API_KEY=raw).get("/api/contacts").status_code == 200
    apikey_revoke(key=key)
    answer = APIClient(HTTP_X_API_KEY=raw).get("/api/contacts")
    assert answer.status_code == 401
    assert "API key" in answer.json()["error"]


def test_the_key_is_stored_hashed_and_its_use_noted(api):
    api.get("/api/contacts")
    key = ApiKey.objects.get(name="tests")
    assert key.last_used_at is not None
    assert len(key.key_hash) == 64
    assert not ApiKey.objects.filter(key_hash__startswith="crm_").exists()


def test_session_and_token_auth_work_too():
    user = make_user("op", "viewer")
    session = APIClient()
    session.force_login(user)
    assert session.get("/api/contacts").status_code == 200
    answer = APIClient(HTTP_AUTHORIZATION=f"Token {api_token(user)}").get("/api/contacts")
    assert answer.status_code == 200


def test_create_contact_with_handles_returns_the_contact_with_string_ids(api):
    answer = api.post(
        "/api/contacts",
        {
            "display_name": "Ana Garcia",
            "email": "ana@example.com",
            "tags": ["Creator", "vip"],
            "what_theyre_building": "a pottery studio",
            "platform_accounts": [
                {"platform": "instagram", "username": "@Ana.G", "is_primary": True}
            ],
        },
        format="json",
    )
    assert answer.status_code == 201
    body = answer.json()
    assert isinstance(body["id"], str)
    assert body["tags"] == ["creator", "vip"]
    assert body["platform_accounts"][0]["username"] == "Ana.G"
    assert body["platform_accounts"][0]["contact_id"] == body["id"]
    assert body["relationship_score"] == 32  # need clarity raised by "what they're building"
    assert body["track"] == "friendship"
    assert body["next_action"]
    assert body["do_not_contact"] is False


def test_create_without_a_name_or_handle_is_a_400_naming_the_field(api):
    answer = api.post("/api/contacts", {"email": "x@y.z"}, format="json")
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("display_name")
    bad_stage = api.post(
        "/api/contacts", {"display_name": "A", "pipeline_stage": "x"}, format="json"
    )
    assert bad_stage.status_code == 400
    assert "pipeline_stage" in bad_stage.json()["error"]


def test_a_handle_is_unique_per_platform_ignoring_case(api):
    make("Ana", username="ana")
    answer = api.post(
        "/api/contacts",
        {
            "display_name": "Other",
            "platform_accounts": [{"platform": "instagram", "username": "ANA"}],
        },
        format="json",
    )
    assert answer.status_code == 400
    assert "already belongs" in answer.json()["error"]
    assert Contact.objects.count() == 1
    same_name_elsewhere = api.post(
        "/api/platform-accounts",
        {"contact_id": Contact.objects.get().pk, "platform": "tiktok", "username": "ana"},
        format="json",
    )
    assert same_name_elsewhere.status_code == 201


def test_get_patch_delete_a_contact(api):
    contact = make("Ben Smith")
    url = f"/api/contacts/{contact.pk}"
    assert api.get(url).json()["display_name"] == "Ben Smith"
    patched = api.patch(
        url, {"pipeline_stage": "trust_signals", "asks_opinion": True}, format="json"
    )
    assert patched.status_code == 200
    assert patched.json()["pipeline_stage"] == "trust_signals"
    assert patched.json()["relationship_score"] > contact.relationship_score
    deleted = api.delete(url)
    assert deleted.status_code == 200
    assert deleted.json()["deleted"] is True
    missing = api.get(url)
    assert missing.status_code == 404
    assert missing.json() == {"success": False, "error": f"contact {contact.pk} not found"}
    assert api.delete(url).status_code == 404
    assert api.get("/api/contacts/abc").status_code == 404


def test_by_username_finds_the_contact_case_insensitively(api):
    contact = make("Chloe", platform="tiktok", username="Chloe_Makes")
    answer = api.get("/api/contacts/by-username/tiktok/@chloe_makes")
    assert answer.status_code == 200
    assert answer.json()["id"] == str(contact.pk)
    assert api.get("/api/contacts/by-username/instagram/chloe_makes").status_code == 404


def test_list_paginates_and_reports_the_total(api):
    for i in range(7):
        make(f"Person {i}", username=f"p{i}")
    first = api.get("/api/contacts", {"limit": 3, "sort": "display_name", "order": "asc"}).json()
    assert first["total"] == 7
    assert [c["display_name"] for c in first["contacts"]] == ["Person 0", "Person 1", "Person 2"]
    last = api.get("/api/contacts", {"limit": 3, "offset": 6, "sort": "display_name"}).json()
    assert last["total"] == 7
    assert len(last["contacts"]) == 1
    beyond = api.get("/api/contacts", {"limit": 3, "offset": 30}).json()
    assert beyond == {"contacts": [], "total": 7, "limit": 3, "offset": 30}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "x"}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"order": "up"}, "order"),
        ({"sort": "password"}, "sort"),
        ({"platform": "myspace"}, "platform"),
        ({"stage": "married"}, "stage"),
    ],
)
def test_bad_query_parameters_are_400s_naming_them(api, params, field):
    answer = api.get("/api/contacts", params)
    assert answer.status_code == 400
    assert answer.json()["error"].startswith(field)


def test_filters_by_platform_stage_tag_and_search(api):
    ana = make("Ana Garcia", username="ana_pots", tags=["potter"])
    make("Ben Smith", platform="tiktok", username="bensmith", pipeline_stage="fit_repeats")
    make("Carla Ruiz", username="carla", email="carla@studio.io")

    def names(**params):
        return [c["display_name"] for c in api.get("/api/contacts", params).json()["contacts"]]

    assert names(platform="tiktok") == ["Ben Smith"]
    assert names(stage="fit_repeats") == ["Ben Smith"]
    assert names(tag="Potter") == ["Ana Garcia"]
    assert names(search="GARC") == ["Ana Garcia"]
    assert names(search="@ana_p") == ["Ana Garcia"]
    assert names(search="studio.io") == ["Carla Ruiz"]
    assert names(search="potter") == ["Ana Garcia"]
    assert names(search="nobody") == []
    api.post(f"/api/contacts/{ana.pk}/tags", {"tag": "kiln"}, format="json")
    assert names(search="kiln") == ["Ana Garcia"]


def test_tags_are_added_and_removed(api):
    contact = make("Dana")
    url = f"/api/contacts/{contact.pk}/tags"
    assert api.post(url, {"tag": "VIP"}, format="json").json() == {"tags": ["vip"]}
    assert api.post(url, {"tag": "beta"}, format="json").json() == {"tags": ["beta", "vip"]}
    assert api.delete(url, {"tag": "vip"}, format="json").json() == {"tags": ["beta"]}
    assert api.delete(f"{url}?tag=beta").json() == {"tags": []}
    assert api.post(url, {}, format="json").status_code == 400


def test_interactions_count_and_raise_value_delivered(api):
    contact = make("Eve")
    url = f"/api/contacts/{contact.pk}/interactions"
    answer = api.post(
        url,
        {"type": "call", "sentiment": "curious", "value_delivered": True, "metadata": {"m": 1}},
        format="json",
    )
    assert answer.status_code == 201
    assert answer.json()["contact_id"] == str(contact.pk)
    assert api.post(url, {"type": "call", "sentiment": "angry"}, format="json").status_code == 400
    listed = api.get(url, {"limit": 10}).json()["interactions"]
    assert [i["type"] for i in listed] == ["call"]
    after = api.get(f"/api/contacts/{contact.pk}").json()
    assert after["total_interactions"] == 1
    assert after["relationship_score"] == contact.relationship_score + 6  # value 20 → 50


def test_conversations_and_messages_after_a_sync(api):
    payload = {
        "platform": "twitter",
        "conversations": [
            {
                "username": "fay",
                "display_name": "Fay",
                "messages": [
                    {"text": "hi", "is_outbound": True, "sent_at": "2025-05-01T10:00:00Z"},
                    {
                        "text": "hello! thanks",
                        "direction": "inbound",
                        "sent_at": "2025-05-01T10:05:00Z",
                    },
                ],
            }
        ],
    }
    assert api.post("/api/sync/dm", payload, format="json").json()["messages_synced"] == 2
    conversations = api.get("/api/conversations", {"platform": "twitter"}).json()
    assert conversations["total"] == 1
    conversation = conversations["conversations"][0]
    assert conversation["username"] == "fay"
    assert conversation["message_count"] == 2
    assert conversation["is_active"] is False  # nothing in the last 30 days
    assert api.get("/api/conversations", {"active": "true"}).json()["total"] == 0
    assert (
        api.get("/api/conversations", {"contact_id": conversation["contact_id"]}).json()["total"]
        == 1
    )
    messages = api.get(f"/api/conversations/{conversation['id']}/messages", {"limit": 1}).json()
    assert [m["text"] for m in messages["messages"]] == ["hello! thanks"]
    everything = api.get(f"/api/conversations/{conversation['id']}/messages").json()["messages"]
    assert [m["is_outbound"] for m in everything] == [True, False]
    assert api.get("/api/conversations/999/messages").status_code == 404


def test_sync_history_and_stats(api):
    api.post(
        "/api/sync/dm",
        {"platform": "tiktok", "conversations": [{"username": "gus", "messages": []}]},
        format="json",
    )
    history = api.get("/api/sync/dm").json()["sync_history"]
    assert history[0]["platform"] == "tiktok"
    assert history[0]["contacts_created"] == 1
    stats = api.get("/api/stats").json()
    assert stats["contacts"]["total"] == 1
    assert stats["contacts"]["by_platform"] == {"tiktok": 1}
    assert stats["contacts"]["by_stage"] == {"first_touch": 1}
    assert stats["conversations"]["total_messages"] == 0
    assert stats["last_sync"] is not None


def test_platform_accounts_list_and_errors(api):
    contact = make("Hana", username="hana")
    listed = api.get("/api/platform-accounts", {"contact_id": contact.pk}).json()["accounts"]
    assert [a["username"] for a in listed] == ["hana"]
    unknown = api.post(
        "/api/platform-accounts",
        {"contact_id": 999, "platform": "x", "username": "h"},
        format="json",
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"].startswith("platform")
    missing = api.post(
        "/api/platform-accounts",
        {"contact_id": 999, "platform": "tiktok", "username": "h"},
        format="json",
    )
    assert missing.status_code == 400
    assert "no contact 999" in missing.json()["error"]


def test_campaigns_are_created_listed_and_targeted(api):
    created = api.post(
        "/api/campaigns",
        {
            "name": "Spring",
            "platforms": ["instagram"],
            "status": "active",
            "message_templates": ["Hey {first_name}, loved your work @{username}"],
            "target_criteria": {"stage": "first_touch", "tags": ["potter"], "min_score": 0},
        },
        format="json",
    )
    assert created.status_code == 201
    campaign = created.json()
    assert campaign["stats"] == {"sent": 0, "replied": 0}
    make("Ivy Stone", username="ivy", tags=["potter"])
    make("Jon", username="jon")  # not tagged
    make("Kim", username="kim", tags=["potter"], do_not_contact=True)
    targets = api.get(f"/api/campaigns/{campaign['id']}/targets", {"platform": "instagram"}).json()
    assert [t["username"] for t in targets["targets"]] == ["ivy"]
    assert targets["targets"][0]["message"] == "Hey Ivy, loved your work @ivy"
    assert api.get(f"/api/campaigns/{campaign['id']}/targets").status_code == 400
    ivy_id = targets["targets"][0]["contact"]["id"]
    sent = api.post(f"/api/campaigns/{campaign['id']}/sent", {"contact_id": ivy_id}, format="json")
    assert sent.json()["stats"] == {"sent": 1, "replied": 0}
    after = api.get(f"/api/campaigns/{campaign['id']}/targets", {"platform": "instagram"}).json()
    assert after["targets"] == []
    assert [
        c["name"] for c in api.get("/api/campaigns", {"status": "active"}).json()["campaigns"]
    ] == ["Spring"]
    assert api.get("/api/campaigns", {"status": "draft"}).json()["campaigns"] == []
    assert api.get(f"/api/campaigns/{campaign['id']}").json()["name"] == "Spring"
    assert api.get("/api/campaigns/404").status_code == 404
    bad = api.post("/api/campaigns", {"name": "X", "platforms": ["fax"]}, format="json")
    assert bad.status_code == 400


def test_a_reply_after_a_campaign_message_counts_as_replied(api):
    campaign = CampaignFactory()
    handle = PlatformAccountFactory(username="lea")
    api.post(f"/api/campaigns/{campaign.pk}/sent", {"contact_id": handle.contact_id}, format="json")
    api.post(
        "/api/messages",
        {
            "platform": "instagram",
            "username": "lea",
            "text": "thanks!",
            "direction": "inbound",
            "sent_at": "2099-01-01T00:00:00Z",
        },
        format="json",
    )
    assert api.get(f"/api/campaigns/{campaign.pk}").json()["stats"] == {"sent": 1, "replied": 1}


def test_upsert_and_do_not_contact_routes(api):
    first = api.post(
        "/api/contacts/upsert", {"platform": "threads", "username": "mo"}, format="json"
    )
    assert first.status_code == 201
    again = api.post(
        "/api/contacts/upsert",
        {"platform": "threads", "username": "MO", "fields": {"notes": "met at expo"}},
        format="json",
    )
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["notes"] == "met at expo"
    assert api.post("/api/contacts/upsert", {"platform": "x"}, format="json").status_code == 400
    assert (
        api.post("/api/contacts/upsert", {"platform": "threads"}, format="json").status_code == 400
    )
    dnc = api.post(
        "/api/contacts/do-not-contact", {"platform": "threads", "username": "mo"}, format="json"
    )
    assert dnc.json() == {"contact_id": first.json()["id"], "do_not_contact": True}
    state = api.get("/api/conversations/state", {"platform": "threads", "username": "mo"}).json()
    assert state["do_not_contact"] is True
    assert api.get("/api/conversations/state", {"platform": "threads"}).status_code == 400
    assert (
        api.post("/api/contacts/do-not-contact", {"platform": "zz"}, format="json").status_code
        == 400
    )


def test_a_non_object_body_is_a_400(api):
    answer = api.post("/api/contacts/upsert", [1, 2], format="json")
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("body")


def test_factories_make_contacts_the_api_lists(api):
    ContactFactory.create_batch(3)
    assert api.get("/api/contacts").json()["total"] == 3


def test_search_with_many_matches_pages_through_the_database(api, monkeypatch):
    from crm import selectors

    monkeypatch.setattr(selectors, "SPARSE_MATCHES", 1)
    for i, name in enumerate(["Ana Lee", "Ana Park", "Anabel Lee", "Bo Lee"]):
        make(name, username=f"x{i}", pipeline_stage="trust_signals" if i else "first_touch")

    def search(**params):
        body = api.get("/api/contacts", {"sort": "display_name", "order": "asc", **params}).json()
        return body["total"], [c["display_name"] for c in body["contacts"]]

    assert search(search="ana") == (3, ["Ana Lee", "Ana Park", "Anabel Lee"])
    assert search(search="ana lee") == (2, ["Ana Lee", "Anabel Lee"])
    assert search(search="ana", stage="trust_signals") == (2, ["Ana Park", "Anabel Lee"])
    assert search(search="lee", limit=1, offset=1) == (3, ["Anabel Lee"])
