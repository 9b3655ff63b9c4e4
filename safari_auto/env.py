"""Small strict readers for environment variables.

Each reader fails loudly on a malformed value instead of guessing, so a typo in `.env`
is an error at start-up, not a surprise at 3 a.m.
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default  # an empty line in .env means "the default", as for numbers
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_timeouts(name: str, defaults: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per-service, per-call-kind timeouts: `defaults` overridden by entries like
    `tiktok_dm.send=150,twitter_dm.read=20` (an unknown service or kind is an error)."""
    merged = {service: dict(kinds) for service, kinds in defaults.items()}
    for entry in env_list(name, []):
        key, _, raw = entry.partition("=")
        service, _, kind = key.strip().partition(".")
        if service not in merged or kind not in merged[service]:
            raise ImproperlyConfigured(
                f"{name}: {key.strip()!r} is not <service>.<kind> of {sorted(merged)} "
                "and send/read/status"
            )
        try:
            merged[service][kind] = float(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {entry!r} needs a number of seconds") from None
    return merged


def env_seconds_by_name(name: str) -> dict[str, int]:
    """Whole seconds by name, from entries like `check=600,probe=60` (each at least 1)."""
    seconds: dict[str, int] = {}
    for entry in env_list(name, []):
        key, _, raw = entry.partition("=")
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if not key.strip() or value < 1:
            raise ImproperlyConfigured(
                f"{name}: {entry!r} is not <name>=<whole seconds, at least 1>"
            )
        seconds[key.strip()] = value
    return seconds


SECRET_MIN_LENGTH = 50  # Django's own deploy check (security.W009) asks for these two
SECRET_MIN_UNIQUE_CHARACTERS = 5


def env_secret(name: str, *, placeholder: str, required: bool) -> str:
    """A secret; when `required`, a missing, placeholder or weak one is an error naming it."""
    value = os.environ.get(name, "") or placeholder
    if not required:
        return value
    if value == placeholder or value.startswith("django-insecure"):
        problem = "is not set (or is the placeholder)"
    elif len(value) < SECRET_MIN_LENGTH:
        problem = f"is shorter than {SECRET_MIN_LENGTH} characters"
    elif len(set(value)) < SECRET_MIN_UNIQUE_CHARACTERS:
        problem = f"has fewer than {SECRET_MIN_UNIQUE_CHARACTERS} different characters"
    else:
        return value
    raise ImproperlyConfigured(
        f'{name} {problem}. Generate one with: python -c "import secrets; '
        f'print(secrets.token_urlsafe(64))"'
    )
