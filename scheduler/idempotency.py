"""Idempotency keys: the system's and the clients', in separate namespaces.

The system makes its own keys (`alert:<event id>`, `recurring:…`, `sora_check:…`, `sync:…`,
`campaign:…`, `dm:<uuid>`). A key a client gives is stored as `client:<owner>/<key>`, so a
client can never take a key the system will want (pre-creating `alert:42` to silence an
alert) nor one of another client. A client key is also bound to the request it came with: the
same key with the same body answers the first task again; with another body it is a conflict
(409), as payment APIs do, instead of silently dropping the second request.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

CLIENT_PREFIX = "client:"
KEY_FIELDS = ("idempotencyKey", "idempotency_key")


def client_key(*, owner: str, key: str) -> str:
    return f"{CLIENT_PREFIX}{owner}/{key}"  # an owner ("user:5", "cli") has no "/"


def public_key(stored: str | None) -> str | None:
    """The key as its client gave it (internal keys are shown as they are)."""
    if not stored or not stored.startswith(CLIENT_PREFIX):
        return stored
    return stored[len(CLIENT_PREFIX) :].split("/", 1)[-1]


def body_hash(body: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of a request body, its idempotency key left out."""
    canonical = json.dumps(
        {k: v for k, v in body.items() if k not in KEY_FIELDS},
        sort_keys=True,
        separators=(",", ":"),
        default=str,
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()
