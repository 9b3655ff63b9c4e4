"""API token authentication: knox's tokens and rules, read with the caller's roles in one query.

knox's own `TokenAuthentication` runs three statements before a view starts: the token with
its user, then every other token of that user (to delete the expired ones), then the view's
role check asks the permissions tables. Here one statement reads the token, its user and
whether the user holds each role permission (`roles.grant_annotations`), so a request sees
the database as it is when it arrives: a revoked token, an inactive user or a removed role
is refused at once, as before. Nothing is cached between requests.

Same rules as knox otherwise: the token is found by its key prefix and compared by digest,
an expired token is deleted (and `token_expired` sent) and refused. The user's other expired
tokens are no longer swept on every request; `manage.py apitoken list` sweeps them.
"""

from __future__ import annotations

import binascii
from hmac import compare_digest
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme
from knox import auth
from knox.crypto import hash_token
from knox.models import get_token_model
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework import exceptions

from safari_auto.roles import grant_annotations, granted_from


class TokenAuthentication(auth.TokenAuthentication):  # type: ignore[misc]
    def authenticate_credentials(self, token: bytes) -> tuple[Any, Any]:
        msg = _("Invalid token.")
        key = token.decode("utf-8")
        now = timezone.now()
        rows = (
            get_token_model()
            .objects.filter(token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH])
            .select_related("user")
            .annotate(**grant_annotations("user"))
        )
        for auth_token in rows:
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
                auth_token.user.role_perms = granted_from(auth_token)
                user, _token = self.validate_user(auth_token)
                return user, auth_token
        raise exceptions.AuthenticationFailed(msg)


class TokenScheme(KnoxTokenScheme):  # type: ignore[no-untyped-call]
    """The OpenAPI scheme of these tokens: knox's."""

    target_class = "safari_auto.tokens.TokenAuthentication"
