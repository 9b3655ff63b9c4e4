"""The one seam to the outside: every HTTP call to a service goes through `call`.

Explicit connect/read timeouts, JSON in and out, and a single error type whose `permanent`
says whether a retry can help. Per-service clients only build payloads and read answers.
A ServiceError's message never carries a URL's credentials, query or fragment (they can hold
tokens), nor the text of the underlying exception (which repeats the URL): stored as a task's
error and shown on the dashboard, it is safe to show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests
from django.conf import settings
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from safari_auto.redaction import url_without_secrets

_session = requests.Session()


class ServiceError(Exception):
    """A call to an outside service failed. `permanent` is False when a retry can help.

    `request_left` says whether the request may have reached the service: True for an
    answered error and for a transport failure after the request was written (read timeout,
    connection dropped mid-answer): what it did is unknown. False only where `call` knows it
    never left (no connection was made, or the request could not even be built): nothing was
    done, and sending again cannot duplicate anything.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        status: int | None = None,
        body: Any = None,
        url: str = "",
        reason: str = "",
        request_left: bool = True,
    ) -> None:
        super().__init__(message)
        self.request_left = request_left
        self.permanent = permanent
        self.status = status
        self.body = body
        self.url = url_without_secrets(url) if url else ""
        self.reason = reason or message  # what went wrong, without naming the URL


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def get(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default) if isinstance(self.body, dict) else default


def call(
    method: str,
    url: str,
    *,
    json: Any = None,
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
    timeout: float | None = None,
) -> Answer:
    """Make one HTTP call and return its status and parsed JSON body.

    Any status comes back as an Answer (clients read 400/429 bodies themselves). Network
    failures raise ServiceError: retryable, since nothing tells us the service is gone for good.
    A read timeout is also retryable, but the caller must treat it as "outcome unknown".
    """
    read_timeout = timeout if timeout is not None else settings.HTTP_TIMEOUT_SECONDS
    try:
        response = _session.request(
            method,
            url,
            json=json,
            params=params,
            headers=headers,
            timeout=(settings.HTTP_CONNECT_TIMEOUT_SECONDS, read_timeout),
        )
    except requests.RequestException as exc:
        raise _failure(url, exc, read_timeout) from exc  # callers read the cause
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = {"error": response.text[:500]}
    return Answer(status=response.status_code, body=body, headers=dict(response.headers))


# Raised by requests before anything is written to a socket.
_NOT_SENT = (
    requests.exceptions.InvalidURL,
    requests.exceptions.MissingSchema,
    requests.exceptions.InvalidSchema,
    requests.exceptions.InvalidHeader,
    requests.exceptions.URLRequired,
    requests.exceptions.InvalidJSONError,
)


def _never_connected(exc: requests.RequestException) -> bool:
    """True when no connection was made: a connect timeout, a refused connection, a name that
    does not resolve (urllib3's NameResolutionError is a NewConnectionError)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    inner = exc.args[0] if exc.args else None
    reason = getattr(inner, "reason", inner)  # urllib3 wraps it in a MaxRetryError
    return isinstance(reason, NewConnectionError | ConnectTimeoutError)


def request_left(exc: requests.RequestException) -> bool:
    """Whether the request may have reached the service before `exc`: False only when it
    provably never left; a read timeout, a dropped connection, a broken answer: True."""
    return not (_never_connected(exc) or isinstance(exc, _NOT_SENT))


def _failure(url: str, exc: requests.RequestException, read_timeout: float) -> ServiceError:
    """A retryable ServiceError naming the URL without secrets, saying whether the request may
    have left. The requests exception stays its `__cause__`; its text repeats the full URL, so
    the log formatter masks configured secrets."""
    if isinstance(exc, requests.ConnectTimeout):
        reason = "connect timed out"
    elif isinstance(exc, requests.ConnectionError):
        reason = f"cannot connect ({exc.__class__.__name__})"
    elif isinstance(exc, requests.Timeout):
        reason = f"no answer within {read_timeout:g}s"
    else:
        reason = f"request failed ({exc.__class__.__name__})"
    shown = url_without_secrets(url)
    return ServiceError(
        f"{shown}: {reason}",
        permanent=False,
        url=url,
        reason=reason,
        request_left=request_left(exc),
    )
