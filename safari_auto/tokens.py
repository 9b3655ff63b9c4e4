"""API token authentication: knox's tokens and rules, read with the caller's roles in one query.

knox's own `TokenAuthentication` runs three statements before a view starts: the token with
its user, then every other token of that user (to delete the expired ones), then the view's
role check asks the permissions tables. Here one statement, written once in SQL, reads the
token, its user and which role permissions the user holds (`roles.grants_sql`), so a request
sees the database as it is when it arrives: a revoked token, an inactive user or a removed
role is refused at once, as before. Nothing is cached between requests.

Same rules as knox otherwise: the token is found by its key prefix and compared by digest,
an expired token is deleted (and `token_expired` sent) and refused. The user's other expired
tokens are no longer swept on every request; `manage.py apitoken list` sweeps them.
"""

from __future__ import annotations

import binascii
from functools import cache
from hmac import compare_digest
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, connections, router
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox import auth
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework import exceptions

from safari_auto.roles import GRANTS, grants_sql


@cache
def _statement() -> tuple[str, list[str]]:
    """The token, its user and the user's role permissions, by the token's key prefix."""
    token, user = get_token_model(), get_user_model()
    quote = connection.ops.quote_name
    user_table, user_pk = quote(user._meta.db_table), quote(user._meta.pk.column or "id")
    grants, params = grants_sql("t.user_id")
    columns = [f"t.{quote(f.column or '')}" for f in token._meta.concrete_fields]
    columns += [f"u.{quote(f.column or '')}" for f in user._meta.concrete_fields]
    # Every name comes from the models' meta; the key is a parameter.
    sql = (
        f"SELECT {', '.join(columns)}, {grants} "  # noqa: S608
        f"FROM {quote(token._meta.db_table)} t "
        f"JOIN {user_table} u ON u.{user_pk} = t.user_id "
        "WHERE t.token_key = %s"
    )
    return sql, params


def _instance(model: type[Model], values: list[Any], alias: str) -> Any:
    """A model instance from its columns' raw values, converted as the ORM converts them."""
    connection = connections[alias]
    fields = model._meta.concrete_fields
    converted = []
    for field, value in zip(fields, values, strict=True):
        column = field.get_col(model._meta.db_table)
        for convert in connection.ops.get_db_converters(column) + field.get_db_converters(
            connection
        ):
            value = convert(value, column, connection)
        converted.append(value)
    return model.from_db(alias, [f.attname for f in fields], converted)


def tokens_with_roles(key: str) -> list[tuple[Any, frozenset[str]]]:
    """The stored tokens whose key prefix `key` starts with, each with its user loaded and
    the role permissions that user holds."""
    token_model, user_model = get_token_model(), get_user_model()
    alias = router.db_for_read(token_model)
    sql, params = _statement()
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, [*params, key[: CONSTANTS.TOKEN_KEY_LENGTH]])
        rows = cursor.fetchall()
    found = []
    split = len(token_model._meta.concrete_fields)
    for row in rows:
        token = _instance(token_model, list(row[:split]), alias)
        token.user = _instance(user_model, list(row[split : -len(GRANTS)]), alias)
        granted = zip(GRANTS, row[-len(GRANTS) :], strict=True)
        found.append((token, frozenset(perm for perm, held in granted if held)))
    return found


class TokenAuthentication(auth.TokenAuthentication):  # type: ignore[misc]
    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        msg = _("Invalid token.")
        key = token.decode("utf-8")
        now = timezone.now()
        for auth_token, role_perms in tokens_with_roles(key):
            if auth_token.expiry is not None and auth_token.expiry < now:
                username = auth_token.user.get_username()
                auth_token.delete()
                token_expired.send(sender=self.__class__, username=username, source="auth_token")
                continue
            try:
                digest = hash_token(key)
            except (TypeError, binascii.Error) as exc:
                raise exceptions.AuthenticationFailed(msg) from exc
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                auth_token.user.role_perms = role_perms
                user, _token = self.validate_user(auth_token)
                return user, auth_token
        raise exceptions.AuthenticationFailed(msg)


class TokenScheme(KnoxTokenScheme):  # type: ignore[no-untyped-call]
    """The OpenAPI scheme of these tokens: knox's."""

    target_class = "safari_auto.tokens.TokenAuthentication"
