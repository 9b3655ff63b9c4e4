"""API tokens read the caller's roles in the same statement (safari_auto.tokens), and still
see every revocation at once: nothing is cached between requests."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from safari_auto.roles import can_operate, can_read
from tests.conftest import api_token, make_user

pytestmark = pytest.mark.django_db

QUEUE = "/api/scheduler/queue"
CREATE = "/api/scheduler/task"


def _client(token: str) -> APIClient:
    return APIClient(HTTP_AUTHORIZATION=f"Token {token}")


def _create(client: APIClient) -> int:
    body = {"type": "check", "name": "t", "payload": {"seconds": 0}}
    return client.post(CREATE, body, format="json").status_code


def test_a_queue_read_runs_three_statements_auth_and_role_in_one(
    operator_api, django_assert_max_num_queries
):
    operator_api.get(QUEUE)  # warm: content types
    with django_assert_max_num_queries(3):  # token + user + roles, the page, the running
        assert operator_api.get(QUEUE).status_code == 200


def test_a_create_runs_auth_and_role_in_one_statement(operator_api, django_assert_max_num_queries):
    assert _create(operator_api) == 201
    # token + user + roles; lane, task, event (a savepoint around them); the new task has
    # no dependencies to read back
    with django_assert_max_num_queries(6):
        assert _create(operator_api) == 201


def test_a_revoked_token_is_refused_on_the_next_request():
    user = make_user("script", role="operator")
    token = api_token(user)
    client = _client(token)
    assert client.get(QUEUE).status_code == 200
    call_command("apitoken", "revoke", token[:10], stdout=StringIO())
    assert client.get(QUEUE).status_code in (401, 403)


def test_a_removed_role_is_refused_on_the_next_request_and_a_granted_one_works_at_once():
    user = make_user("script", role="operator")
    client = _client(api_token(user))
    assert _create(client) == 201
    user.groups.remove(Group.objects.get(name="operator"))
    assert _create(client) == 403
    assert client.get(QUEUE).status_code == 403
    user.groups.add(Group.objects.get(name="viewer"))
    assert (client.get(QUEUE).status_code, _create(client)) == (200, 403)
    user.groups.add(Group.objects.get(name="operator"))
    assert _create(client) == 201


def test_a_deactivated_user_is_refused_on_the_next_request():
    user = make_user("script", role="operator")
    client = _client(api_token(user))
    assert client.get(QUEUE).status_code == 200
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert client.get(QUEUE).status_code in (401, 403)


def test_a_permission_granted_to_the_user_itself_counts_and_a_superuser_needs_no_role():
    direct = make_user("direct")
    client = _client(api_token(direct))
    assert client.get(QUEUE).status_code == 403
    direct.user_permissions.add(Permission.objects.get(codename="read"))
    assert (client.get(QUEUE).status_code, _create(client)) == (200, 403)
    boss = make_user("boss", is_superuser=True)
    assert _create(_client(api_token(boss))) == 201


@pytest.mark.parametrize("role", [None, "viewer", "operator"])
def test_roles_read_with_the_token_answer_as_the_database_does(role):
    user = make_user("someone", role=role)
    token = api_token(user)
    request = APIClient(HTTP_AUTHORIZATION=f"Token {token}").get(QUEUE).wsgi_request
    with_token = request.user  # the DRF request's user is set on the Django request
    assert with_token.role_perms is not None
    assert (with_token.pk, with_token.username, with_token.date_joined, with_token.is_staff) == (
        user.pk,
        user.username,
        user.date_joined,
        user.is_staff,
    )
    assert (can_read(with_token), can_operate(with_token)) == (can_read(user), can_operate(user))
    assert (can_read(user), can_operate(user)) == (role is not None, role == "operator")


def test_an_expired_token_is_refused_and_deleted_and_listing_sweeps_the_others():
    user = make_user("script", role="viewer")
    expired, old = AuthToken.objects.create(user=user, expiry=timedelta(seconds=-1))
    other, _ = AuthToken.objects.create(user=user, expiry=timedelta(seconds=-1))
    live = api_token(user)
    assert _client(old).get(QUEUE).status_code in (401, 403)
    assert not AuthToken.objects.filter(pk=expired.pk).exists()
    assert _client(live).get(QUEUE).status_code == 200
    listing = StringIO()
    call_command("apitoken", "list", stdout=listing)
    assert other.token_key[:8] not in listing.getvalue()
    assert list(AuthToken.objects.filter(expiry__lt=timezone.now())) == []
