"""One shape for every send answer, whatever the platform said.

The services disagree on how they fail: X and Instagram answer 200 with `success:false`, TikTok
answers 400 for a recipient it already messaged, all of them answer 429 at a limit and 503 when
Safari has no session. The scheduler must not care: it needs to know whether the message went
out, whether to wait (and until when), whether a human must step in, and whether a retry can
help. `send_result` turns an `Answer` into that, and `SendOutcomeUnknown` marks the one case it
cannot decide: the request left but no answer came back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal

from safari_auto.http import Answer
from safari_auto.times import parse_iso

Outcome = Literal["sent", "limited", "needs_human", "failed"]

# Words in an error that mean a person has to act in Safari before anything can be sent.
_HUMAN_WORDS = (
    "not logged in",
    "logged out",
    "login required",
    "log in",
    "captcha",
    "challenge",
    "suspended",
    "locked",
    "no safari",
    "session",
)
_LIMIT_WORDS = ("rate limit", "rate-limit", "ratelimit", "too many", "limit reached")
# TikTok refuses these for good: sending again cannot change the answer.
_FINAL_ERRORS = ("already_messaged", "already_in_conversation", "identity_mismatch")
# Answers about the *recipient* (X: their profile is suspended, missing or protected; TikTok
# comments: comments_off): final for that target, and never about our account's health.
_RECIPIENT_ERRORS = ("account suspended", "user not found", "account is protected")
_RECIPIENT_WORDS = ("comments_off",)


class SendOutcomeUnknown(Exception):
    """The request reached the service but no answer came back (read timeout, dropped socket).

    The message may or may not be out. The caller must verify by reading the conversation, and
    must never simply send again.
    """

    def __init__(self, message: str, *, platform: str, url: str) -> None:
        super().__init__(message)
        self.platform = platform
        self.url = url


@dataclass(frozen=True)
class SendResult:
    """The normalised answer to one send (DM or comment).

    `verified` is None when the service says nothing about verification. `retry_after` is only
    set for `limited`, and only when the service said when. `retryable` says whether sending the
    same thing again later can help; it is False for `sent` (never resend a success).
    `recipient` marks a failure about the target, not our account; `unreachable` one where the
    service never got the request. `warning` is set on a send
    that went out in a way worth a look (Instagram's inbox strategy may have typed it twice).
    """

    outcome: Outcome
    verified: bool | None = None
    retry_after: datetime | None = None
    reason: str = ""
    retryable: bool = False
    raw: dict[str, Any] = field(default_factory=dict)
    recipient: bool = False
    warning: str = ""
    # The service could not be reached (connection refused, a timeout before the request
    # left): nothing was sent, and it is a health problem of the service, not of the send.
    unreachable: bool = False

    @property
    def sent(self) -> bool:
        return self.outcome == "sent"


def failed(reason: str, *, retryable: bool, raw: dict[str, Any] | None = None) -> SendResult:
    return SendResult(outcome="failed", reason=reason, retryable=retryable, raw=raw or {})


def send_result(
    answer: Answer,
    *,
    verified_of: Callable[[dict[str, Any]], Any] | None = None,
    now: datetime | None = None,
) -> SendResult:
    """Normalise a send answer. `verified_of` reads the verification flag (X has two)."""
    body: dict[str, Any] = answer.body if isinstance(answer.body, dict) else {}
    error = str(body.get("error") or body.get("message") or "")
    special = _not_a_limit(answer.status, error, body)
    if special is not None:
        return special
    if answer.status == 429 or (body.get("rateLimited") and body.get("success") is not True):
        when = retry_after_from(answer, now=now or datetime.now(UTC))
        return SendResult(
            "limited", retry_after=when, reason=error or "rate limited", retryable=True, raw=body
        )
    if answer.status == 503:
        return SendResult(
            "needs_human", reason=error or "service has no Safari session", retryable=True, raw=body
        )
    if answer.ok and body.get("success") is True:
        flag = verified_of(body) if verified_of else body.get("verified")
        return SendResult(
            "sent",
            verified=flag if isinstance(flag, bool) else None,
            reason="" if flag is not False else "sent, not verified",
            raw=body,
            warning=strategy_warning(body),
        )
    return _refusal(answer.status, error, body)


def strategy_warning(body: dict[str, Any]) -> str:
    """Instagram names the path it sent through; anything but "profile" means its first path
    failed its own check and it typed the message again through the inbox."""
    strategy = body.get("strategy")
    if strategy is None or strategy == "profile":
        return ""
    return (
        f"sent through the {strategy!r} strategy, not the profile: the service may have typed "
        "it twice; check the conversation"
    )


def _not_a_limit(status: int, error: str, body: dict[str, Any]) -> SendResult | None:
    """The answers that look like a limit or a session problem and mean something else:
    a TikTok CAPTCHA (a 429 with `captcha:true`: a human must solve it, never a retry on a
    timer); TikTok's `in_flight` (its tab is busy with another send: nothing was sent, try
    again soon, no cooldown); and a refusal about the recipient (final for that target)."""
    lowered = error.strip().lower()
    if body.get("captcha") is True:
        return SendResult(
            "needs_human",
            reason=f"CAPTCHA challenge on screen: a human must solve it ({error or status})",
            retryable=False,
            raw=body,
        )
    if status == 429 and lowered.startswith("in_flight"):
        return failed(f"the service is busy with another send: {error}", retryable=True, raw=body)
    if lowered.rstrip(".") in _RECIPIENT_ERRORS or any(w in lowered for w in _RECIPIENT_WORDS):
        return SendResult(
            "failed", reason=f"recipient: {error}", retryable=False, raw=body, recipient=True
        )
    return None


def _refusal(status: int, error: str, body: dict[str, Any]) -> SendResult:
    """Classify an answer that is neither a success, a 429 nor a 503."""
    lowered = error.lower()
    reason = error or f"HTTP {status} without success"
    if any(word in lowered for word in _HUMAN_WORDS):
        return SendResult("needs_human", reason=reason, retryable=True, raw=body)
    if any(word in lowered for word in _LIMIT_WORDS):
        return SendResult("limited", reason=reason, retryable=True, raw=body)
    if any(word in lowered for word in _FINAL_ERRORS):
        return failed(reason, retryable=False, raw=body)
    if status in (400, 401, 403, 404, 409, 422):
        return failed(reason, retryable=False, raw=body)
    return failed(reason, retryable=True, raw=body)


def retry_after_from(answer: Answer, *, now: datetime) -> datetime | None:
    """When a 429 says it can be retried: body first, then the Retry-After header, else None."""
    body = answer.body if isinstance(answer.body, dict) else {}
    for key in ("retryAt", "resetAt", "nextAllowedAt"):
        parsed = parse_time(body.get(key))
        if parsed:
            return parsed
    for key in ("retryAfter", "retryAfterSeconds"):
        seconds = _as_seconds(body.get(key))
        if seconds is not None:
            return now + timedelta(seconds=seconds)
    if isinstance(body.get("retryAfterMs"), int | float):
        return now + timedelta(milliseconds=body["retryAfterMs"])
    header = {k.lower(): v for k, v in answer.headers.items()}.get("retry-after")
    return _parse_retry_after_header(header, now=now) if header else None


def _parse_retry_after_header(value: str, *, now: datetime) -> datetime | None:
    seconds = _as_seconds(value)
    if seconds is not None:
        return now + timedelta(seconds=seconds)
    try:
        return parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def _as_seconds(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def parse_time(value: Any) -> datetime | None:
    """An ISO time from a service; a naive one is taken as UTC (the services speak UTC)."""
    return parse_iso(value, assume=UTC)
