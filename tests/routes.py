"""Every route the server answers, read from the URL resolver (not a hand list), with a
concrete path to request for each: what the role tests walk."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver, resolve

SAMPLES = {
    "int": "1",
    "str": "1",
    "path": "1",
    "slug": "x",
    "uuid": "0" * 8 + "-0000" * 3 + "-" + "0" * 12,
}


@dataclass(frozen=True)
class Route:
    path: str  # a concrete path that resolves to this pattern
    pattern: str  # the pattern as written
    origin: str  # the urlconf module it was included from ("crm.urls", "admin", …)
    callback: Any


def _concrete(pattern: str) -> str:
    def converter(match: re.Match[str]) -> str:
        return SAMPLES.get(match.group(1) or "str", "1")

    def group(match: re.Match[str]) -> str:
        body = match.group(1)
        return "no-such-page" if body == ".*" else body.split("|")[0]

    text = re.sub(r"\(\?P<\w+>([^)]*)\)", group, pattern)
    text = re.sub(r"<(?:(\w+):)?(\w+)>", converter, text)
    return "/" + text.replace("^", "").replace("$", "").replace("\\", "")


def _walk(patterns: Any, prefix: str, origin: str) -> Iterator[tuple[str, str, Any]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            name = entry.urlconf_name
            inner = name if isinstance(name, str) else getattr(name, "__name__", None)
            inner = inner or entry.app_name or origin
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), origin, entry.callback


def http_routes(urlconf: str | None = None) -> list[Route]:
    """Every HTTP route of `urlconf` (default: ROOT_URLCONF). Each sample path is checked to
    resolve to its own pattern, so no route is silently tested through another."""
    routes = []
    for pattern, origin, callback in _walk(get_resolver(urlconf).url_patterns, "", "root"):
        path = _concrete(pattern)
        found = resolve(path, urlconf)
        assert found.func is callback, f"{path} resolves to {found.route}, not {pattern}"
        routes.append(Route(path=path, pattern=pattern, origin=origin, callback=callback))
    return routes
