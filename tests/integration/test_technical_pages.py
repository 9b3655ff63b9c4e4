"""DEBUG is off by default; with it on, only a local superuser sees Django's technical pages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.http import Http404
from django.test import Client, RequestFactory

from safari_auto.debugpages import TechnicalPagesGate

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
HOOK = "https://hooks.example.com/services/T0/B0/s3cr3tPath"
# A Host outside ALLOWED_HOSTS: Django's SuspiciousOperation, a technical page under DEBUG.
BAD_HOST = "not-allowed.example"
BIG_FORM = {"x": "a" * (3 * 1024 * 1024)}


@pytest.fixture
def debug_on(settings):
    settings.DEBUG = True
    settings.ALERT_WEBHOOK_URL = HOOK
    return settings


def _client(user=None, address="127.0.0.1"):
    client = Client(raise_request_exception=False, REMOTE_ADDR=address)
    if user is not None:
        client.force_login(user)
    return client


def _superuser():
    return get_user_model().objects.create_superuser("root", password="root-pass-123")


def test_debug_is_off_unless_asked_for():
    env = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "safari_auto.settings"}
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.stdout.strip() == "False", done.stderr


def test_an_anonymous_oversized_post_gets_a_plain_413_without_settings(debug_on):
    answer = _client().post("/admin/login/", BIG_FORM)
    body = answer.content.decode()
    assert answer.status_code == 413
    assert answer["Content-Type"] == "application/json"
    assert "s3cr3tPath" not in body
    assert "Traceback" not in body
    assert "ALERT_WEBHOOK_URL" not in body


def test_an_unknown_url_gets_a_plain_404_without_the_url_patterns(debug_on):
    for path, kind in (("/no-such-page", "text/html"), ("/api/no-such-route", "json")):
        answer = _client().get(path)
        assert answer.status_code == 404
        assert kind in answer["Content-Type"]
        assert "DEBUG = True" not in answer.content.decode()
        assert "DEBUG = True" not in answer.content.decode()


def test_a_staff_user_who_is_not_superuser_gets_plain_pages(debug_on):
    staff = get_user_model().objects.create_user("staff", password="p-123456", is_staff=True)
    answer = _client(staff).get("/admin/login/", HTTP_HOST=BAD_HOST)
    assert answer.status_code == 400
    assert "Traceback" not in answer.content.decode()


def test_a_superuser_from_another_address_gets_plain_pages(debug_on):
    client = _client(_superuser(), address="192.0.2.10")
    assert "Traceback" not in client.get("/admin/login/", HTTP_HOST=BAD_HOST).content.decode()
    assert "DEBUG = True" not in client.get("/no-such-page").content.decode()


def test_a_local_superuser_in_development_sees_technical_pages_with_secrets_masked(
    debug_on, monkeypatch
):
    from dashboard import views

    def broken(**kwargs):
        raise RuntimeError("a bug in a view")

    monkeypatch.setattr(views.selectors, "dashboard_state", broken)
    client = _client(_superuser())
    answer = client.get("/", HTTP_ACCEPT="text/html")
    body = answer.content.decode()
    assert answer.status_code == 500
    assert "Traceback" in body
    assert "ALERT_WEBHOOK_URL" in body
    assert "s3cr3tPath" not in body  # redacted even here
    assert "DEBUG = True" in client.get("/no-such-page").content.decode()


def test_a_view_raising_http404_answers_plainly_to_an_untrusted_request(debug_on):
    request = RequestFactory().get("/api/scheduler/task/1")
    gate = TechnicalPagesGate(lambda r: None)
    answer = gate.process_exception(request, Http404("task 1: secret detail"))
    assert answer is not None
    assert answer.status_code == 404
    assert b"secret detail" not in answer.content
