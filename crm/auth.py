"""`x-api-key` authentication for the CRM API; keys are managed in the admin."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from crm.models import ApiKey
from crm.services import apikey_authenticate
from safari_auto.tokens import TokenAuthentication

HEADER = "HTTP_X_API_KEY"


class ApiKeyUser:
    """The principal behind an API key: authenticated, but no Django user and no staff rights."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None
    id = None

    def __init__(self, key: ApiKey) -> None:
        self.key = key
        self.username = f"apikey:{key.name}"

    def __str__(self) -> str:
        return self.username

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        return False


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiKeyUser, ApiKey] | None:
        raw = request.META.get(HEADER, "").strip()
        if not raw:
            return None
        key = apikey_authenticate(raw_key=raw)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key (x-api-key).")
        return ApiKeyUser(key), key

    def authenticate_header(self, request: Request) -> str:
        return 'ApiKey header="x-api-key"'


CRM_AUTHENTICATION = [
    ApiKeyAuthentication,
    authentication.SessionAuthentication,
    TokenAuthentication,
]


class ApiKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """The x-api-key scheme in the OpenAPI schema (drf-spectacular)."""

    target_class = "crm.auth.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "x-api-key"}
