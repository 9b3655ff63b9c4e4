"""The role checks give Django's `has_perm` answer for every kind of user, with one query for
a role's member instead of loading every permission the user has."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.auth import ApiKeyUser
from crm.services import apikey_create
from safari_auto.roles import OPERATE, READ, can_operate, can_read, has_any
from tests.conftest import make_user

pytestmark = pytest.mark.django_db


def fresh(user):
    return get_user_model().objects.get(pk=user.pk)  # as each request loads it


@pytest.mark.parametrize(
    ("role", "flags", "reads", "operates"),
    [
        ("viewer", {}, True, False),
        ("operator", {}, True, True),
        (None, {}, False, False),
        (None, {"is_superuser": True}, True, True),
        ("operator", {"is_active": False}, False, False),
    ],
)
def test_the_checks_agree_with_djangos_has_perm(role, flags, reads, operates):
    user = fresh(make_user("u", role, **flags))
    assert can_read(user) is reads
    assert can_operate(user) is operates
    django_reads = fresh(user).has_perm(READ) or fresh(user).has_perm(OPERATE)
    assert django_reads is reads
    assert fresh(user).has_perm(OPERATE) is operates


def test_a_permission_given_to_the_user_itself_counts():
    user = make_user("solo")
    user.user_permissions.add(Permission.objects.get(codename="read"))
    assert can_read(fresh(user)) is True
    assert can_operate(fresh(user)) is False


def test_neither_anonymous_nor_a_crm_key_has_a_role():
    key, _ = apikey_create(name="sync")
    assert can_read(AnonymousUser()) is False
    assert can_read(ApiKeyUser(key)) is False
    assert can_operate(ApiKeyUser(key)) is False


def test_a_role_member_costs_one_query_not_every_permission():
    user = fresh(make_user("op", "operator"))
    with CaptureQueriesContext(connection) as queries:
        assert can_operate(user)
    assert len(queries.captured_queries) == 1
    assert "auth_user_groups" in queries.captured_queries[0]["sql"]


def test_only_this_apps_permissions_are_checked_this_way():
    with pytest.raises(ValueError, match="this app's permissions"):
        has_any(make_user("x"), "scheduler.view_task")
