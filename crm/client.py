"""`crm.client`: the only way into the CRM from other apps.

One interface, two implementations chosen by settings, like Django's EMAIL_BACKEND:
- local (ORM), when CRM_API_URL is empty;
- HTTP, to a remote CRM API at CRM_API_URL with CRM_API_KEY (the PRD's crm-client).

Every method takes keyword arguments and returns plain JSON-able dicts shaped like the CRM
API's answers (CONTRACTS.md), so both implementations are interchangeable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from django.conf import settings


class CrmError(Exception):
    """The CRM refused or could not be reached. `permanent` is False when a retry can help."""

    def __init__(self, message: str, *, permanent: bool = True, status: int | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.status = status


class CrmClient(Protocol):
    def contact_by_handle(self, *, platform: str, username: str) -> dict[str, Any] | None:
        """The Contact with that platform handle (case-insensitive), or None."""

    def contact_upsert(
        self,
        *,
        platform: str,
        username: str,
        display_name: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Create or update the contact behind a handle; returns the Contact."""

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
        """Record one message (creating contact and conversation as needed); de-duplicated."""

    def sync_dm(self, *, platform: str, conversations: list[dict[str, Any]]) -> dict[str, Any]:
        """POST /api/sync/dm semantics: idempotent upsert; returns the counts."""

    def conversation_state(self, *, platform: str, username: str) -> dict[str, Any]:
        """{contact_id, do_not_contact, has_inbound, last_outbound_at, last_inbound_at} for the
        outreach guards; contact_id is None for someone unknown."""

    def set_do_not_contact(self, *, platform: str, username: str, value: bool = True) -> None:
        """Mark (or unmark) the contact behind a handle as do-not-contact."""

    def campaigns_active(self, *, platform: str) -> list[dict[str, Any]]:
        """Active campaigns that include this platform."""

    def campaign_targets(
        self, *, campaign_id: str, platform: str, limit: int
    ) -> list[dict[str, Any]]:
        """The next contacts of a campaign on a platform, never do-not-contact ones, each as
        {contact: Contact, username, message: the first template filled from the contact}."""

    def campaign_record_sent(self, *, campaign_id: str, contact_id: str) -> None:
        """Count one sent campaign message to a contact (so it is not targeted again)."""


def get_client() -> CrmClient:
    """The client the settings choose: HTTP when CRM_API_URL is set, else the local ORM."""
    if settings.CRM_API_URL:
        from crm.client_http import HttpCrmClient

        return HttpCrmClient(base_url=settings.CRM_API_URL, api_key=settings.CRM_API_KEY)
    from crm.client_local import LocalCrmClient

    return LocalCrmClient()
