"""crm.client in-process: the ORM through services and selectors, answering the API's shapes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder

from crm import selectors, services
from crm.api.other import target_json
from crm.api.serializers import ContactSerializer, MessageSerializer
from crm.client import CrmError
from crm.sync import dm_sync, message_log
from crm.sync_input import SyncInputError, parse_sync


def _plain(data: Mapping[str, Any]) -> dict[str, Any]:
    """Exactly what the HTTP API would answer after a JSON round trip."""
    plain: dict[str, Any] = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    return plain


def _contact(contact: Any) -> dict[str, Any]:
    fresh = selectors.contact_get(contact_id=contact.pk)
    return _plain(ContactSerializer(fresh).data)


def _error(exc: ValidationError) -> CrmError:
    if hasattr(exc, "error_dict"):
        field, errors = next(iter(exc.message_dict.items()))
        return CrmError(f"{field}: {errors[0]}", permanent=True, status=400)
    return CrmError("; ".join(exc.messages), permanent=True, status=400)


class LocalCrmClient:
    def contact_by_handle(self, *, platform: str, username: str) -> dict[str, Any] | None:
        contact = selectors.contact_by_handle(platform=platform, username=username)
        return _contact(contact) if contact else None

    def contact_upsert(
        self,
        *,
        platform: str,
        username: str,
        display_name: str | None = None,
        fields: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        try:
            contact, _ = services.contact_upsert(
                platform=platform, username=username, display_name=display_name, fields=fields
            )
        except ValidationError as exc:
            raise _error(exc) from None
        return _contact(contact)

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
        try:
            message, created = message_log(
                platform=platform,
                username=username,
                text=text,
                direction=direction,
                sent_at=sent_at,
                by_automation=by_automation,
                service_id=service_id,
            )
        except ValidationError as exc:
            raise _error(exc) from None
        return _plain({**MessageSerializer(message).data, "created": created})

    def sync_dm(self, *, platform: str, conversations: list[dict[str, Any]]) -> dict[str, Any]:
        try:
            parsed_platform, parsed = parse_sync(
                _plain({"platform": platform, "conversations": conversations})
            )
        except SyncInputError as exc:
            raise CrmError(str(exc), permanent=True, status=400) from None
        counts, run = dm_sync(platform=parsed_platform, conversations=parsed)
        return {"synced": True, **vars(counts), "sync_id": str(run.pk)}

    def conversation_state(self, *, platform: str, username: str) -> dict[str, Any]:
        return selectors.conversation_state(platform=platform, username=username)

    def set_do_not_contact(self, *, platform: str, username: str, value: bool = True) -> None:
        try:
            services.contact_set_do_not_contact(platform=platform, username=username, value=value)
        except ValidationError as exc:
            raise _error(exc) from None

    def campaigns_active(self, *, platform: str) -> list[dict[str, Any]]:
        from crm.api.serializers import CampaignSerializer

        campaigns = selectors.campaign_list(status="active", platform=platform)
        return [_plain(item) for item in CampaignSerializer(campaigns, many=True).data]

    def campaign_targets(
        self, *, campaign_id: str, platform: str, limit: int
    ) -> list[dict[str, Any]]:
        campaign = selectors.campaign_get(campaign_id=int(campaign_id))
        if campaign is None:
            raise CrmError(f"campaign {campaign_id} not found", permanent=True, status=404)
        pairs = selectors.campaign_targets(campaign=campaign, platform=platform, limit=limit)
        return [_plain(target_json(campaign, c, h)) for c, h in pairs]

    def campaign_record_sent(self, *, campaign_id: str, contact_id: str) -> None:
        campaign = selectors.campaign_get(campaign_id=int(campaign_id))
        if campaign is None:
            raise CrmError(f"campaign {campaign_id} not found", permanent=True, status=404)
        try:
            services.campaign_record_sent(campaign=campaign, contact_id=int(contact_id))
        except ValidationError as exc:
            raise _error(exc) from None
