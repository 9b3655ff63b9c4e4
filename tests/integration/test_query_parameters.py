"""Query parameters are parsed by one QuerySerializer per route: bad input answers 400 in the
API's one error shape, naming the parameter; empty values count as absent; the schema shows
each parameter with its bounds."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

BAD = [
    ("/api/scheduler/queue?limit=abc", "limit"),
    ("/api/scheduler/queue?offset=-1", "offset"),
    ("/api/scheduler/queue?limit=1001", "limit"),
    ("/api/scheduler/completed?limit=x", "limit"),
    ("/api/scheduler/completed?status=bogus", "status"),
    ("/api/dm/conversations?platform=myspace", "platform"),
    ("/api/dm/conversations", "platform"),
    ("/api/contacts?limit=0", "limit"),
    ("/api/conversations/state?username=maya", "platform"),
    ("/api/campaigns?status=nope", "status"),
    ("/sora/videos/1/file?download=maybe", "download"),
]


@pytest.mark.parametrize(("url", "name"), BAD)
def test_a_bad_query_parameter_answers_400_naming_it(api, url, name):
    answer = api.get(url)
    assert answer.status_code == 400, answer.content
    body = answer.json()
    assert body["success"] is False
    assert body["error"].startswith(f"{name}: ")
    assert set(body["fields"]) == {name}


@pytest.mark.parametrize(
    "url",
    [
        "/api/scheduler/queue?limit=&offset=",
        "/api/scheduler/completed?limit=&status=",
        "/api/contacts?limit=&platform=",
        "/api/campaigns?status=",
    ],
)
def test_an_empty_query_parameter_counts_as_absent(api, url):
    assert api.get(url).status_code == 200


@pytest.mark.parametrize(
    ("path", "name", "bounds"),
    [
        ("/api/scheduler/queue", "limit", {"minimum": 0, "maximum": 1000}),
        ("/api/scheduler/queue", "offset", {"minimum": 0, "maximum": 10**9}),
        ("/api/scheduler/completed", "limit", {"minimum": 0, "maximum": 1000}),
        ("/api/dm/conversations", "platform", {"enum": ["instagram", "tiktok", "twitter"]}),
        ("/sora/videos/{video_id}/file", "download", {"type": "boolean"}),
    ],
)
def test_the_schema_shows_each_query_parameter_with_its_bounds(api, path, name, bounds):
    schema = api.get("/api/schema/?format=json").json()
    parameters = schema["paths"][path]["get"]["parameters"]
    [parameter] = [p for p in parameters if p["in"] == "query" and p["name"] == name]
    assert {key: parameter["schema"].get(key) for key in bounds} == bounds
