"""API tokens are stored hashed; scripts still send `Authorization: Token <token>`."""

from __future__ import annotations

import importlib
import re
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import connection
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.conftest import make_user

ROUTE = "/api/scheduler/status"


def _admin_token() -> str:
    out = StringIO()
    call_command("ensure_admin", "--password", "admin-pass-123", stdout=out)
    match = re.search(r"API token: (\w+)", out.getvalue())
    assert match, out.getvalue()
    return match.group(1)


def _get(token: str) -> int:
    return APIClient(HTTP_AUTHORIZATION=f"Token {token}").get(ROUTE).status_code


@pytest.mark.django_db
def test_the_printed_token_works_and_is_nowhere_in_the_database():
    token = _admin_token()
    assert _get(token) == 200
    assert _get(token[:-1] + ("0" if token[-1] != "0" else "1")) in (401, 403)
    stored = AuthToken.objects.get()
    assert token not in (stored.digest, stored.token_key)
    with connection.cursor() as cursor:
        cursor.execute("SELECT digest, token_key FROM knox_authtoken")
        assert all(token not in value for row in cursor.fetchall() for value in row)


@pytest.mark.django_db
def test_apitoken_creates_lists_and_revokes_tokens():
    make_user("script", role="viewer")
    out = StringIO()
    call_command("apitoken", "create", "script", stdout=out)
    token = out.getvalue().strip()
    assert _get(token) == 200
    listing = StringIO()
    call_command("apitoken", "list", stdout=listing)
    assert token[:8] in listing.getvalue()
    assert token not in listing.getvalue()
    call_command("apitoken", "revoke", token[:10], stdout=StringIO())
    assert _get(token) in (401, 403)


@pytest.mark.django_db(transaction=True)
def test_existing_clear_text_tokens_are_hashed_kept_working_and_their_table_dropped():
    user = make_user("old-script", role="viewer")
    old_key = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created timestamp, user_id integer)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token VALUES (%s, CURRENT_TIMESTAMP, %s)", [old_key, user.pk]
        )
    migration = importlib.import_module("safari_auto.migrations.0001_hash_api_tokens")
    with connection.schema_editor() as editor:
        migration.hash_existing_tokens(apps, editor)
    assert "authtoken_token" not in connection.introspection.table_names()
    assert _get(old_key) == 200
    assert not AuthToken.objects.filter(digest=old_key).exists()
