"""Every API route is in the served OpenAPI schema, so the fuzzer reaches it (issue 12)."""

from __future__ import annotations

import inspect
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

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


BODY_METHODS = {"post", "put", "patch"}


def api_operations(patterns=None, prefix="") -> set[tuple[str, str]]:
    """(method, path) for every method every API view under /api/ answers, from the resolver."""
    operations: set[tuple[str, str]] = set()
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            operations |= api_operations(pattern.url_patterns, route)
            continue
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)
        if not route.startswith("api/") or path in NOT_API:
            continue
        view = pattern.callback.cls
        for method in view.http_method_names:
            if method not in ("options", "head") and hasattr(view, method):
                operations.add((method, re.sub(r"{\w+}", "{}", path)))
    return operations


def _shape(answer: dict) -> dict:
    return next(iter(answer.get("content", {}).values()), {}).get("schema", {})


def test_every_api_operation_documents_its_request_and_response_shapes(api):
    schema = api.get("/api/schema/?format=json").json()
    documented = {
        (method, re.sub(r"{\w+}", "{}", path)): operation
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    }
    problems = []
    for method, path in sorted(api_operations()):
        operation = documented.get((method, path))
        if operation is None:
            problems.append(f"{method.upper()} {path}: not in the schema")
            continue
        shapes = [_shape(a) for code, a in operation["responses"].items() if code[0] == "2"]
        if not any(shapes):
            problems.append(f"{method.upper()} {path}: no response shape")
        if method in BODY_METHODS and not _shape(operation.get("requestBody", {})):
            problems.append(f"{method.upper()} {path}: no request shape")
    assert api_operations(), "the resolver walk found no API view"
    assert not problems, "\n".join(problems)


def test_every_api_class_follows_the_one_convention():
    """safari_auto/api.py: one `<Thing>Api` class per route; query parameters only through a
    QuerySerializer (no view reads `request.query_params` by hand)."""
    classes = {
        pattern.callback.cls
        for route, pattern in _patterns(get_resolver().url_patterns)
        if route.startswith("api/") and hasattr(pattern.callback, "cls")
    }
    classes -= {SpectacularAPIView, SpectacularSwaggerView}
    assert classes
    misnamed = sorted(c.__name__ for c in classes if not c.__name__.endswith("Api"))
    assert not misnamed
    by_hand = sorted(
        c.__name__ for c in classes if "query_params" in inspect.getsource(inspect.getmodule(c))
    )
    assert not by_hand


def _patterns(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        else:
            yield prefix + str(pattern.pattern), pattern
