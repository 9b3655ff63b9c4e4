"""crm.client over HTTP (the PRD's crm-client): a remote CRM API at CRM_API_URL.

Every call goes through `safari_auto.http.call` with the `x-api-key` header; any non-2xx
answer becomes a CrmError whose `permanent` says whether a retry can help.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from crm.client import CrmError
from safari_auto.http import ServiceError, call


class HttpCrmClient:
    def __init__(self, base_url: str, api_key: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        allow_404: bool = False,
    ) -> Any:
        url = f"{self.base_url}{path}"
        headers = {"x-api-key": self.api_key, "Content-Type": "application/json"}
        try:
            answer = call(
                method, url, json=json, params=params, headers=headers, timeout=self.timeout
            )
        except ServiceError as exc:
            raise CrmError(str(exc), permanent=exc.permanent, status=exc.status) from exc
        if answer.status == 404 and allow_404:
            return None
        if not answer.ok:
            message = answer.get("error") or f"HTTP {answer.status}"
            retryable = answer.status >= 500 or answer.status in (408, 429)
            raise CrmError(
                f"{method} {path}: {message}", permanent=not retryable, status=answer.status
            )
        return answer.body

    def contact_by_handle(self, *, platform: str, username: str) -> dict[str, Any] | None:
        path = f"/api/contacts/by-username/{quote(platform, safe='')}/{quote(username, safe='')}"
        found = self._call("GET", path, allow_404=True)
        return None if found is None else _object(found, path)

    def contact_upsert(
        self,
        *,
        platform: str,
        username: str,
        display_name: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        body = {"platform": platform, "username": username, "display_name": display_name}
        path = "/api/contacts/upsert"
        return _object(self._call("POST", path, json={**body, "fields": fields or {}}), path)

    def message_log(
        self,
        *,
        platform: str,
        username: str,
        text: str,
        direction: str,
        sent_at: datetime,
        by_automation: bool = True,
        service_id: str | None = None,
    ) -> dict[str, Any]:
        body = {
            "platform": platform,
            "username": username,
            "text": text,
            "direction": direction,
            "sent_at": sent_at.isoformat(),
            "by_automation": by_automation,
            "service_id": service_id,
        }
        return _object(self._call("POST", "/api/messages", json=body), "/api/messages")

    def sync_dm(self, *, platform: str, conversations: list[dict[str, Any]]) -> dict[str, Any]:
        body = {"platform": platform, "conversations": conversations}
        return _object(self._call("POST", "/api/sync/dm", json=_jsonable(body)), "/api/sync/dm")

    def conversation_state(self, *, platform: str, username: str) -> dict[str, Any]:
        params = {"platform": platform, "username": username}
        path = "/api/conversations/state"
        return _object(self._call("GET", path, params=params), path)

    def set_do_not_contact(self, *, platform: str, username: str, value: bool = True) -> None:
        body = {"platform": platform, "username": username, "value": value}
        self._call("POST", "/api/contacts/do-not-contact", json=body)

    def campaigns_active(self, *, platform: str) -> list[dict[str, Any]]:
        params = {"status": "active", "platform": platform}
        return _objects(self._call("GET", "/api/campaigns", params=params), "campaigns")

    def campaign_targets(
        self, *, campaign_id: str, platform: str, limit: int
    ) -> list[dict[str, Any]]:
        path = f"/api/campaigns/{quote(str(campaign_id), safe='')}/targets"
        params = {"platform": platform, "limit": limit}
        return _objects(self._call("GET", path, params=params), "targets")

    def campaign_record_sent(self, *, campaign_id: str, contact_id: str) -> None:
        path = f"/api/campaigns/{quote(str(campaign_id), safe='')}/sent"
        self._call("POST", path, json={"contact_id": contact_id})


def _object(body: Any, path: str) -> dict[str, Any]:
    """The answer's JSON object; anything else is a CRM that is not ours (or not well)."""
    if not isinstance(body, dict):
        raise CrmError(f"{path}: the CRM answered {type(body).__name__}, not an object")
    return body


def _objects(body: Any, key: str) -> list[dict[str, Any]]:
    """The list of objects under `key` in the answer."""
    items = _object(body, key).get(key)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise CrmError(f"the CRM's answer has no list of objects under {key!r}")
    return items


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
