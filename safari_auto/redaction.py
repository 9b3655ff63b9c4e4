"""Secrets stay in the process: one place that knows what a secret looks like.

- `url_origin(url)`: `scheme://host[:port]` only, for naming a destination whose path or query
  may itself be the secret (an alert webhook).
- `url_without_secrets(url)`: the URL without credentials, query or fragment, for error text
  about a service (its path helps; a token in the query must not be kept).
- `redact_text(text)`: every configured secret value, and any credentials inside a URL,
  replaced by `********`.
- `SafeReporterFilter`: Django's error-report filter with a broader name pattern; it also
  cleanses any value that holds a configured secret or a URL with credentials, whatever its
  name (`CHANNEL_LAYERS`' Redis host, say).
- `RedactingFormatter`: the log formatter; runs `redact_text` over each formatted record.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from types import FrameType
from typing import Any
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter

MASK = "********"
MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words
URL_CREDENTIALS = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)[^/\s@]+@", re.IGNORECASE)
# Settings whose names say they are, or may hold, a secret.
HIDDEN_SETTINGS = re.compile(
    r"API|TOKEN|KEY|SECRET|PASS|SIGNATURE|AUTH|COOKIE|CREDENTIAL|URL|DSN|DATABASE|REDIS|"
    r"BROKER|WEBHOOK",
    flags=re.IGNORECASE,
)
SECRET_SETTINGS = ("SECRET_KEY", "CRM_API_KEY", "ALERT_WEBHOOK_URL", "DATABASE_URL", "REDIS_URL")


def _split(url: str) -> SplitResult | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return None
    return parts if parts.scheme and parts.hostname else None


def _netloc(parts: SplitResult) -> str:
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{parts.port}" if parts.port else host


def url_origin(url: str) -> str:
    """`https://hooks.example.com` for any URL on that host; `(invalid URL)` if none."""
    parts = _split(url)
    return f"{parts.scheme}://{_netloc(parts)}" if parts else "(invalid URL)"


def url_without_secrets(url: str) -> str:
    """The URL with its path but without credentials, query or fragment."""
    parts = _split(url)
    return f"{parts.scheme}://{_netloc(parts)}{parts.path}" if parts else "(invalid URL)"


def _url_secrets(url: str) -> Iterator[str]:
    yield url
    parts = _split(url)
    if parts is None:
        return
    yield from (parts.password or "", parts.query)
    if parts.path.strip("/"):
        yield parts.path  # a webhook's path is often its token


def secret_values() -> list[str]:
    """The configured secrets, longest first (so a URL is masked before its password)."""
    values: list[str] = []
    for name in SECRET_SETTINGS:
        value = str(getattr(settings, name, "") or "")
        values.extend(_url_secrets(value) if "://" in value else [value])
    values.extend(str(v) for v in getattr(settings, "SERVICE_TOKENS", {}).values())
    for database in getattr(settings, "DATABASES", {}).values():
        values.append(str(database.get("PASSWORD") or ""))
    wanted = {v for v in values if len(v) >= MIN_SECRET_LENGTH}
    return sorted(wanted, key=len, reverse=True)


def redact_text(text: str) -> str:
    for value in secret_values():
        text = text.replace(value, MASK)
    return URL_CREDENTIALS.sub(rf"\g<scheme>{MASK}@", text)


def holds_secret(value: str) -> bool:
    return redact_text(value) != value


class SafeReporterFilter(SafeExceptionReporterFilter):
    """Error reports (technical pages, logged reports) with every secret cleansed."""

    hidden_settings = HIDDEN_SETTINGS

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str) and holds_secret(cleansed):
            return self.cleansed_substitute
        return cleansed

    def get_traceback_frame_variables(
        self, request: HttpRequest | None, tb_frame: FrameType
    ) -> Any:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [
            (name, self.cleansed_substitute if isinstance(v, str) and holds_secret(v) else v)
            for name, v in variables
        ]


class RedactingFormatter(logging.Formatter):
    """A formatter whose output never carries a configured secret (tracebacks included)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))
