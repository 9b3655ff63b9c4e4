"""The dashboard form and the CLI refuse what the API refuses, with the same words (issue 12)."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from scheduler.models import Task

pytestmark = pytest.mark.django_db

FETCH = {"HTTP_X_REQUESTED_WITH": "fetch"}
DEEP = json.dumps(json.loads("{" + '"x": {' * 40 + "}" * 41))
BAD_PAYLOADS = [
    ('{"note": "\\udfff"}', "payload.note: contains a lone surrogate"),
    ('{"note": "a\\u0000b"}', "payload.note: contains a NUL"),
    (DEEP, "nested deeper than 32"),
    ('{"n": 1' + "0" * 25 + "}", "payload.n: integer out of range"),
]


@pytest.fixture
def browser(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.mark.parametrize(("payload", "error"), BAD_PAYLOADS)
def test_the_schedule_form_refuses_a_payload_the_api_refuses(browser, payload, error):
    answer = browser.post("/dashboard/schedule", {"type": "check", "payload": payload}, **FETCH)
    assert answer.status_code == 400
    assert error.removeprefix("payload.") in answer.json()["error"]
    assert not Task.objects.exists()


@pytest.mark.parametrize(("payload", "error"), BAD_PAYLOADS)
def test_the_cli_refuses_a_payload_the_api_refuses(payload, error):
    with pytest.raises(CommandError, match=error.split(":")[-1].strip()):
        call_command("scheduler", "schedule", "--type", "check", "--payload", payload)
    assert not Task.objects.exists()


def test_a_nul_in_a_form_field_is_refused_as_json(browser):
    answer = browser.post("/dashboard/pause", {"reason": "a\x00b"}, **FETCH)
    assert answer.status_code == 400
    assert answer.json()["error"] == "form.reason: contains a NUL character"


def test_a_huge_dashboard_page_number_still_renders(browser):
    answer = browser.get(f"/dashboard/fragments?page={10**30}")
    assert answer.status_code == 200


def test_a_form_with_too_many_fields_is_refused_as_json(browser, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    form = "&".join(f"f{i}=x" for i in range(10))
    answer = browser.generic(
        "POST", "/dashboard/pause", form, content_type="application/x-www-form-urlencoded"
    )
    assert answer.status_code == 400
    assert answer.json()["success"] is False
