"""The fuzzer's credentials: a superuser's API token and a CRM key, made in one place so a
change of token scheme (hashed tokens, knox) changes one function."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from crm.services import apikey_create
from tests.conftest import api_token


def superuser_token_header() -> str:
    """`Authorization` header value for a fresh superuser."""
    user = get_user_model().objects.create_superuser(username="fuzzer", password="fuzz-pass-1")
    return f"Token {api_token(user)}"


def crm_key_header() -> str:
    """`x-api-key` header value for a fresh CRM key."""
    _, raw = apikey_create(name="fuzzer")
    return raw


def fuzz_headers() -> dict[str, str]:
    return {"Authorization": superuser_token_header(), "x-api-key": crm_key_header()}
