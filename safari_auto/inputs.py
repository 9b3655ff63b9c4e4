"""What no input may carry, on any route: the one check shared by the body parsers and the
request guard middleware.

A lone surrogate (`"\\udfff"`) cannot be encoded as UTF-8, so storing or rendering it fails
later, far from the request; a NUL is refused by Postgres; nesting deeper than `MAX_DEPTH`
serves no client and costs recursion; an integer beyond 64 bits or a non-finite number fits no
column. Each problem is reported with the place it was found (`body.payload.items[3]`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

MAX_DEPTH = 32
MAX_INT = 2**63 - 1


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None."""
    if value.isascii():
        return "contains a NUL character" if "\x00" in value else None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (invalid Unicode)"
    return "contains a NUL character" if "\x00" in value else None


def shown(name: Any) -> str:
    """`name` safe to echo in an error message (bad characters escaped)."""
    text = str(name)
    return text if text.isprintable() else ascii(text)[1:-1]


def _children(value: Any, path: str) -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield f"{path}.{shown(key)}", key
            yield f"{path}.{shown(key)}", item
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield f"{path}[{i}]", item


def document_problem(document: Any, root: str = "body") -> str | None:
    """The first thing in a decoded document that no route accepts, as `place: why`, or None."""
    stack: list[tuple[str, Any, int]] = [(root, document, 0)]
    while stack:
        path, value, depth = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value)
        elif isinstance(value, bool) or value is None:
            problem = None
        elif isinstance(value, int):
            problem = None if -MAX_INT - 1 <= value <= MAX_INT else "integer out of range"
        elif isinstance(value, float):
            problem = None if math.isfinite(value) else "number out of range"
        elif isinstance(value, dict | list | tuple):
            if depth >= MAX_DEPTH:
                return f"{path}: nested deeper than {MAX_DEPTH} levels"
            stack.extend((p, v, depth + 1) for p, v in _children(value, path))
            continue
        else:
            problem = None
        if problem:
            return f"{path}: {problem}"
    return None


def pairs_problem(pairs: Iterable[tuple[str, str]], root: str) -> str | None:
    """The first key or value of query or form pairs that carries bad text, or None."""
    for key, value in pairs:
        problem = text_problem(key) or text_problem(value)
        if problem:
            return f"{root}.{shown(key)}: {problem}"
    return None


def load_json(text: str, root: str) -> Any:
    """A JSON document typed into a form field, checked like an API body; ValueError names
    the place (`payload.items[2]: ...`) when it is not JSON or carries what no route accepts."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{root}: not JSON: {exc.msg}") from None
    except RecursionError:
        raise ValueError(f"{root}: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise ValueError(f"{root}: not JSON this server can read ({exc})") from None
    problem = document_problem(document, root)
    if problem:
        raise ValueError(problem)
    return document
