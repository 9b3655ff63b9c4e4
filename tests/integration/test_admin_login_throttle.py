"""The admin login is throttled per username and address (django-axes)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.conftest import api_token

pytestmark = pytest.mark.django_db
PASSWORD = "right-pass-123"


@pytest.fixture
def admin_user():
    return get_user_model().objects.create_superuser("boss", password=PASSWORD)


def _login(client: Client, password: str):
    return client.post("/admin/login/?next=/admin/", {"username": "boss", "password": password})


def _logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_after_the_failure_limit_even_the_right_password_is_refused(settings, admin_user):
    client = Client(REMOTE_ADDR="192.0.2.1")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "wrong").status_code == 200  # the form again, with its error
    _login(client, "wrong")
    answer = _login(client, PASSWORD)
    assert answer.status_code == 429
    assert not _logged_in(client)


def test_the_lockout_is_per_address_and_leaves_the_api_working(settings, admin_user):
    attacker = Client(REMOTE_ADDR="192.0.2.1")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(attacker, "wrong")
    owner = Client(REMOTE_ADDR="127.0.0.1")
    assert _login(owner, PASSWORD).status_code == 302
    assert _logged_in(owner)
    token = api_token(admin_user)
    answer = Client(REMOTE_ADDR="192.0.2.1", HTTP_AUTHORIZATION=f"Token {token}").get(
        "/api/scheduler/status"
    )
    assert answer.status_code == 200


def test_fewer_failures_than_the_limit_do_not_lock_out(settings, admin_user):
    client = Client(REMOTE_ADDR="192.0.2.1")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "wrong")
    assert _login(client, PASSWORD).status_code == 302
