"""What every platform client shares: where the service is, and how to call it.

Clients only build payloads and read answers; the HTTP itself is `safari_auto.http.call`, the
one seam to the outside. This module adds the two things a sender needs on top of it: reading
a non-2xx answer of a *read* as an error, and turning a send whose request may have left
(`ServiceError.request_left`: a read timeout, a connection dropped mid-answer; not a refused
connection) into SendOutcomeUnknown.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.conf import settings

from safari_auto.http import Answer, ServiceError, call

from .results import SendOutcomeUnknown, SendResult, failed, send_result


def service_url(key: str) -> str:
    """The base URL of a service from `settings.SERVICE_URLS`, without a trailing slash."""
    return str(settings.SERVICE_URLS[key]).rstrip("/")


def service_timeout(key: str, kind: str) -> float | None:
    """The read timeout of one call kind ("send", "read", "status") to a service, from
    `settings.SERVICE_TIMEOUTS`; None (HTTP_TIMEOUT_SECONDS) for a service it does not list."""
    kinds = getattr(settings, "SERVICE_TIMEOUTS", {}).get(key) or {}
    value = kinds.get(kind)
    return float(value) if value is not None else None


def outcome_unknown(answer: Answer) -> bool:
    """A send answered 504 Gateway Timeout: the service's own middleware gave up waiting while
    the send carries on (CONTRACTS.md, "504"). Whether it went out is unknown, never a
    retryable failure."""
    return answer.status == 504


def service_token(key: str) -> str:
    return str(getattr(settings, "SERVICE_TOKENS", {}).get(key, ""))


class ServiceClient:
    """A client for one service at `base_url`, with optional extra headers (a Bearer token)."""

    platform: str = ""
    key: str = ""  # the settings key ("tiktok_dm"): picks the timeouts per call kind

    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        timeout: float | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = dict(headers or {})
        self.timeout = timeout

    def timeout_for(self, kind: str) -> float | None:
        """An explicit timeout wins; else the service's timeout for this kind of call."""
        return self.timeout if self.timeout is not None else service_timeout(self.key, kind)

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        kind: str = "read",
    ) -> Answer:
        return call(
            method,
            self.base_url + path,
            json=json,
            params=params,
            headers=self.headers or None,
            timeout=self.timeout_for(kind),
        )

    def read(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        kind: str = "read",
    ) -> dict[str, Any]:
        """Call a read-only route and return its JSON object; any non-2xx is a ServiceError."""
        answer = self._call(method, path, json=json, params=params, kind=kind)
        body = answer.body if isinstance(answer.body, dict) else {}
        if not answer.ok:
            message = str(body.get("error") or body.get("message") or f"HTTP {answer.status}")
            raise ServiceError(
                f"{self.platform} {path}: {message}",
                permanent=answer.status in (400, 401, 403, 404),
                status=answer.status,
                body=answer.body,
                url=self.base_url + path,
            )
        return body

    def post_send(self, path: str, payload: dict[str, Any], **result_options: Any) -> SendResult:
        """POST a send and normalise the answer; raise SendOutcomeUnknown if it may have left."""
        try:
            answer = self._call("POST", path, json=payload, kind="send")
        except ServiceError as exc:
            if exc.request_left:
                raise SendOutcomeUnknown(
                    str(exc), platform=self.platform, url=self.base_url + path
                ) from exc
            down = failed(f"{self.platform} unreachable: {exc}", retryable=True)
            return dataclasses.replace(down, unreachable=True)
        if outcome_unknown(answer):
            raise SendOutcomeUnknown(
                f"{self.platform} answered 504: the send may still go out",
                platform=self.platform,
                url=self.base_url + path,
            )
        return send_result(answer, **result_options)
