"""POST /api/scheduler/task: internal types stay internal, payloads are checked per type,
every input is bounded, and a client's idempotency key is its own and bound to its body."""

import json

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from dm.accounts import account_get_or_create
from dm.models import AccountLimit
from scheduler import services
from scheduler.models import Event, Task

pytestmark = pytest.mark.django_db

HUGE = 10**30


def post(api, body, **headers):
    return api.post("/api/scheduler/task", body, format="json", **headers)


def raw_post(api, text):
    """A body as a client may send it: JSON text with escapes json.dumps would not write."""
    return api.post("/api/scheduler/task", text, content_type="application/json")


def refused(answer, field):
    assert answer.status_code == 400, answer.content
    body = answer.json()
    assert body["success"] is False
    named = [k for k in body["fields"] if k == field or k.startswith((f"{field}.", f"{field}["))]
    assert named, body  # the field, or a place inside it (`resourceRequirements.soraCredits`)
    assert field in body["error"], body
    assert not Task.objects.exists()
    assert not Event.objects.filter(kind="task.created").exists()
    return body


@pytest.mark.parametrize("internal", ["webhook", "cleanup", "probe", "sora_check"])
def test_internal_types_are_refused_naming_the_type(api, internal):
    body = refused(post(api, {"type": internal, "payload": {"days": 1}}), "type")
    assert internal in body["error"]
    assert "internal" in body["error"]


def test_the_system_still_creates_internal_types():
    task, created = services.task_schedule(type="cleanup", payload={"days": 30})
    assert created
    assert task.type == "cleanup"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "dm", "platform": "tiktok", "payload": {"username": "maya"}}, "payload.text"),
        ({"type": "dm", "platform": "tiktok", "payload": {"text": "hi"}}, "payload.username"),
        ({"type": "dm", "payload": {"username": "maya", "text": "hi"}}, "platform"),
        (
            {"type": "dm", "platform": "myspace", "payload": {"username": "m", "text": "hi"}},
            "platform",
        ),
        ({"type": "comment", "platform": "threads", "payload": {"text": "a"}}, "payload.postUrl"),
        (
            {"type": "comment", "platform": "threads", "payload": {"postUrl": "x", "text": "a"}},
            "payload.postUrl",
        ),
        ({"type": "discovery", "payload": {}}, "platform"),
        ({"type": "discovery", "platform": "threads"}, "platform"),
        (
            {"type": "discovery", "platform": "tiktok", "payload": {"maxCandidates": HUGE}},
            "payload.maxCandidates",
        ),
        ({"type": "sync"}, "platform"),
        ({"type": "sync", "platform": "tiktok", "payload": {"limit": -1}}, "payload.limit"),
        ({"type": "sora", "payload": {}}, "payload.prompt"),
        ({"type": "check", "payload": {"seconds": "soon"}}, "payload.seconds"),
    ],
)  # fmt: skip
def test_a_payload_is_checked_against_its_types_needs(api, body, field):
    refused(post(api, body), field)


def test_a_dm_with_what_it_needs_is_accepted(api):
    body = {"type": "dm", "platform": "tiktok", "payload": {"username": "maya", "text": "hi"}}
    answer = post(api, body)
    assert answer.status_code == 201, answer.json()
    assert Task.objects.get().payload["text"] == "hi"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "check", "dependencies": [HUGE]}, "dependencies"),
        ({"type": "check", "dependencies": [str(HUGE)]}, "dependencies"),
        ({"type": "check", "dependencies": list(range(1, 102))}, "dependencies"),
        ({"type": "check", "priority": HUGE}, "priority"),
        ({"type": "check", "maxRetries": HUGE}, "maxRetries"),
        ({"type": "check", "resourceRequirements": {"soraCredits": HUGE}}, "resourceRequirements"),
        ({"type": "check", "name": "n" * 201}, "name"),
        ({"type": "check", "account": "a" * 101}, "account"),
        ({"type": "check", "platform": "p" * 33}, "platform"),
        ({"type": "check", "idempotencyKey": "k" * 151}, "idempotencyKey"),
        ({"type": "check", "scheduledFor": "9999-12-31T23:59:59-14:00"}, "scheduledFor"),
        ({"type": "check", "scheduledFor": "0001-01-01T00:00:00+14:00"}, "scheduledFor"),
        ({"type": "check", "scheduledFor": "9999-12-31T00:00:00Z"}, "scheduledFor"),
        ({"type": "check", "payload": {"deep": json.loads("[" * 20 + "]" * 20)}}, "payload"),
        ({"type": "check", "payload": {"big": HUGE}}, "payload.big"),
    ],
)
def test_out_of_bounds_input_answers_400_and_writes_nothing(api, body, field):
    refused(post(api, body), field)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('{"type": "check", "payload": {"note": "\\udfff"}}', "payload.note"),
        ('{"type": "check", "payload": {"\\ud800": 1}}', "payload"),
        ('{"type": "check", "payload": {"l": ["ok", "nul \\u0000 here"]}}', "payload.l[1]"),
        (
            '{"type": "dm", "platform": "tiktok", "payload": {"username": "m", "text": "\\udfff"}}',
            "payload.text",
        ),
        ('{"type": "check", "name": "\\udfff"}', "name"),
    ],
)
def test_a_lone_surrogate_or_nul_anywhere_is_refused(api, text, field):
    refused(raw_post(api, text), field)
    assert api.get("/api/scheduler/queue").status_code == 200


def test_the_schema_says_which_types_need_a_platform(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    create = schema["components"]["schemas"]["TaskCreateRequest"]["properties"]
    assert "Required for dm, comment, discovery and sync" in create["platform"]["description"]
    assert "internal" in create["type"]["description"]
    enum_ref = create["type"]["allOf"][0]["$ref"].rsplit("/", 1)[-1]
    types = set(schema["components"]["schemas"][enum_ref]["enum"])
    assert {"check", "dm", "comment", "discovery", "sync", "sora"} <= types
    assert not types & {"webhook", "cleanup", "probe", "sora_check"}


# --- idempotency keys -------------------------------------------------------------------------


def test_a_client_cannot_pre_create_an_internal_alert_key(api):
    answer = post(api, {"type": "check", "idempotencyKey": "alert:77"})
    assert answer.status_code == 201
    assert answer.json()["task"]["idempotencyKey"] == "alert:77"  # shown as the client gave it
    alert, created = services.task_schedule(
        type="webhook", payload={"body": {}}, idempotency_key="alert:77"
    )
    assert created
    assert alert.type == "webhook"
    assert Task.objects.count() == 2


def test_the_same_key_and_body_answers_the_first_task(api):
    body = {"type": "check", "payload": {"seconds": 1}, "idempotencyKey": "k-1"}
    first = post(api, body)
    again = post(api, body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["taskId"] == first.json()["taskId"]
    header = post(api, {"type": "check", "payload": {"seconds": 1}}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert header.status_code == 200
    assert Task.objects.count() == 1


def test_the_same_key_with_another_body_is_a_conflict(api):
    first = post(api, {"type": "check", "payload": {"seconds": 1}, "idempotencyKey": "k-2"})
    other = post(api, {"type": "check", "payload": {"seconds": 2}, "idempotencyKey": "k-2"})
    assert other.status_code == 409
    body = other.json()
    assert body["success"] is False
    assert "k-2" in body["error"]
    assert "different request" in body["error"]
    assert Task.objects.get().pk == int(first.json()["taskId"])


def test_a_key_belongs_to_its_user(api):
    other_user = get_user_model().objects.create_user(
        username="other", is_staff=True, is_superuser=True
    )
    other = APIClient()
    other.force_authenticate(user=other_user)
    body = {"type": "check", "idempotencyKey": "shared"}
    assert post(api, body).status_code == 201
    assert post(other, body).status_code == 201
    assert Task.objects.count() == 2


def test_a_dm_send_key_with_another_text_is_a_conflict(api):
    body = {"platform": "tiktok", "username": "maya", "text": "hi", "idempotencyKey": "dm-1"}
    assert api.post("/api/dm/send", body, format="json").status_code == 201
    assert api.post("/api/dm/send", body, format="json").status_code == 200
    changed = api.post("/api/dm/send", {**body, "text": "bye"}, format="json")
    assert changed.status_code == 409
    assert Task.objects.get().payload["text"] == "hi"


# --- account limits -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("minGapSeconds", 10**12),
        ("maxGapSeconds", 10**12),
        ("hourlyCap", 10**12),
        ("dailyCap", HUGE),
    ],
)
def test_account_limits_have_sane_bounds(api, field, value):
    account = account_get_or_create(platform="tiktok")
    before = list(AccountLimit.objects.values())
    answer = api.patch(f"/api/dm/accounts/{account.pk}", {field: value}, format="json")
    assert answer.status_code == 400
    assert field in answer.json()["fields"]
    assert list(AccountLimit.objects.values()) == before


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"scheduledFor": "9999-12-31T00:00:00Z"}, "scheduledFor"),
        ({"idempotencyKey": "k" * 151}, "idempotencyKey"),
        ({"account": "a" * 101}, "account"),
    ],
)
def test_a_refused_dm_send_writes_no_row_at_all(api, extra, field):
    from dm.models import PlatformAccount

    body = {"platform": "tiktok", "username": "maya", "text": "hi", **extra}
    answer = api.post("/api/dm/send", body, format="json")
    assert answer.status_code == 400
    assert field in answer.json()["fields"]
    assert not Task.objects.exists()
    assert not PlatformAccount.objects.exists()


def test_a_create_answers_the_dependencies_it_was_given_and_a_repeat_its_first_tasks(
    operator_api,
):
    def create(**extra):
        body = {"type": "check", "name": "t", "payload": {"seconds": 0}, **extra}
        return operator_api.post("/api/scheduler/task", body, format="json").json()

    first, second = create()["taskId"], create()["taskId"]
    assert create()["task"]["dependencies"] == []
    made = create(dependencies=[int(second), int(first)], idempotencyKey="k")
    assert sorted(made["task"]["dependencies"]) == sorted([first, second])
    again = create(dependencies=[int(second), int(first)], idempotencyKey="k")
    assert (again["created"], again["task"]["dependencies"]) == (
        False,
        made["task"]["dependencies"],
    )
