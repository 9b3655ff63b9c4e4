"""Input that no route accepts (issue 12): refused with a JSON 400/413 naming the problem, on
every route, before anything is written."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from crm.models import Contact
from scheduler.models import Task

pytestmark = pytest.mark.django_db

LONE_SURROGATE = '{"type": "check", "name": "x", "payload": {"note": "\\udfff"}}'


def post_raw(api, url, raw: str | bytes, content_type="application/json"):
    return api.generic("POST", url, raw, content_type=content_type)


def test_a_lone_surrogate_in_a_task_payload_is_refused_and_nothing_is_stored(api):
    answer = post_raw(api, "/api/scheduler/task", LONE_SURROGATE)
    assert answer.status_code == 400
    assert answer.json()["success"] is False
    assert "payload.note" in answer.json()["error"]
    assert "payload.note" in answer.json()["fields"]
    assert "surrogate" in answer.json()["error"]
    assert not Task.objects.exists()
    assert api.get("/api/scheduler/queue").status_code == 200


@pytest.mark.parametrize(
    ("raw", "place", "why"),
    [
        ('{"display_name": "a\\u0000b"}', "display_name", "NUL"),
        ('{"display_name": "ok", "tags": ["\\ud800"]}', "tags[0]", "surrogate"),
        ('{"display_name": "ok", "promises_made": 1' + "0" * 30 + "}", "promises_made", "range"),
        ('{"display_name": "ok", "promises_made": 1e400}', "promises_made", "range"),
    ],
)
def test_bad_text_and_numbers_anywhere_in_a_body_name_their_place(api, raw, place, why):
    answer = post_raw(api, "/api/contacts", raw)
    assert answer.status_code == 400, answer.content
    assert place in answer.json()["error"]
    assert why in answer.json()["error"]
    assert not Contact.objects.exists()


def test_nesting_deeper_than_the_bound_is_refused(api):
    deep = {"type": "check", "payload": {}}
    node = deep["payload"]
    for _ in range(40):
        node["x"] = {}
        node = node["x"]
    answer = post_raw(api, "/api/scheduler/task", json.dumps(deep))
    assert answer.status_code == 400
    assert "nested deeper than 32" in answer.json()["error"]
    assert not Task.objects.exists()


def test_nesting_that_would_exhaust_the_recursion_limit_is_a_400_not_a_500(api):
    answer = post_raw(api, "/api/contacts", "[" * 100_000 + "]" * 100_000)
    assert answer.status_code == 400
    assert "nested" in answer.json()["error"]


def test_an_oversized_json_body_answers_413_as_json(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    raw = json.dumps({"display_name": "x" * 2000})
    answer = post_raw(api, "/api/contacts", raw)
    assert answer.status_code == 413
    assert answer["Content-Type"] == "application/json"
    assert "1000 bytes" in answer.json()["error"]
    assert not Contact.objects.exists()


def test_an_anonymous_oversized_form_answers_413_as_json_not_an_html_page(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = Client(enforce_csrf_checks=True)
    answer = client.post("/dashboard/pause", {"reason": "x" * 3000})
    assert answer.status_code == 413
    assert answer.json()["success"] is False


@pytest.mark.parametrize(
    "url",
    [
        "/api/contacts?search=a%00b",
        "/api/scheduler/completed?status=%00",
        "/api/contacts/by-username/instagram/a%00b",
    ],
)
def test_a_nul_in_a_query_or_path_is_refused(api, url):
    answer = api.get(url)
    assert answer.status_code == 400
    assert "NUL" in answer.json()["error"]


def test_an_unknown_api_route_answers_json(api):
    answer = api.get("/api/no-such-route")
    assert answer.status_code == 404
    assert answer.json()["success"] is False
