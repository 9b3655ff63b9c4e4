"""Every API route is in the served OpenAPI schema, so the fuzzer reaches it (issue 12)."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

NOT_API = {"/api/schema/", "/api/docs/"}


def api_routes(patterns=None, prefix="") -> set[str]:
    routes: set[str] = set()
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            routes |= api_routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/"):
            routes.add("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))
    return routes - NOT_API


def test_every_api_route_is_in_the_schema_with_documented_errors(api):
    schema = api.get("/api/schema/?format=json").json()
    paths = {re.sub(r"{\w+}", "{}", p) for p in schema["paths"]}
    missing = {r for r in api_routes() if re.sub(r"{\w+}", "{}", r) not in paths}
    assert not missing
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            codes = set(operation["responses"])
            assert {"400", "401", "403", "413"} <= codes, (method, path, codes)
            assert "204" not in codes, (method, path)
