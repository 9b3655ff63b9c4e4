"""Health, stats, platform accounts and campaigns."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from crm import selectors, services
from crm.api.common import CrmView, bad, body, choice_param, found, int_param, pk_or_404
from crm.api.contacts import _contact
from crm.api.serializers import (
    CampaignSerializer,
    ContactSerializer,
    PlatformAccountInputSerializer,
    PlatformAccountSerializer,
)
from crm.models import Campaign, Platform
from crm.text import template_render, template_text, template_variables


class HealthView(CrmView):
    """Liveness for the old CRM client, which sends its x-api-key on every call:
    {status:"ok", service:"crm"}. Only /health answers anonymously."""

    def get(self, request: Request) -> Response:
        return Response({"status": "ok", "service": "crm"})


class StatsView(CrmView):
    def get(self, request: Request) -> Response:
        return Response(selectors.crm_stats())


class PlatformAccountsView(CrmView):
    def get(self, request: Request) -> Response:
        contact_id = int_param(request, "contact_id", None)
        accounts = selectors.platform_account_list(
            platform=choice_param(request, "platform", Platform.values), contact_id=contact_id
        )
        return Response({"accounts": PlatformAccountSerializer(accounts, many=True).data})

    def post(self, request: Request) -> Response:
        serializer = PlatformAccountInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        contact = selectors.contact_get(contact_id=data.pop("contact_id"))
        if contact is None:
            raise bad("contact_id", f"no contact {body(request).get('contact_id')}")
        account = services.platform_account_create(contact=contact, data=data)
        return Response(PlatformAccountSerializer(account).data, status=status.HTTP_201_CREATED)


def _campaign(pk: Any) -> Campaign:
    campaign_id = pk_or_404(pk, "campaign")
    return found(selectors.campaign_get(campaign_id=campaign_id), "campaign", pk)  # type: ignore[no-any-return]


class CampaignsView(CrmView):
    def get(self, request: Request) -> Response:
        campaigns = selectors.campaign_list(
            status=choice_param(request, "status", Campaign.Status.values),
            platform=choice_param(request, "platform", Platform.values),
        )
        return Response({"campaigns": CampaignSerializer(campaigns, many=True).data})

    def post(self, request: Request) -> Response:
        serializer = CampaignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        campaign = services.campaign_create(data=dict(serializer.validated_data))
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)


class CampaignDetailView(CrmView):
    def get(self, request: Request, pk: str) -> Response:
        return Response(CampaignSerializer(_campaign(pk)).data)


def target_json(campaign: Campaign, contact: Any, handle: Any) -> dict[str, Any]:
    templates = [template_text(t) for t in campaign.message_templates]
    variables = template_variables(
        display_name=contact.display_name, username=handle.username, platform=handle.platform
    )
    return {
        "contact": ContactSerializer(contact).data,
        "username": handle.username,
        "message": template_render(templates[0], variables) if templates else "",
    }


class CampaignTargetsView(CrmView):
    """GET /api/campaigns/<id>/targets?platform=&limit= : the campaign's next contacts."""

    def get(self, request: Request, pk: str) -> Response:
        campaign = _campaign(pk)
        platform = choice_param(request, "platform", Platform.values)
        if not platform:
            raise bad("platform", "required")
        limit = int_param(request, "limit", 10, low=1, high=500) or 10
        pairs = selectors.campaign_targets(campaign=campaign, platform=platform, limit=limit)
        return Response({"targets": [target_json(campaign, c, h) for c, h in pairs]})


class CampaignSentView(CrmView):
    """POST /api/campaigns/<id>/sent {contact_id}: count one campaign message."""

    def post(self, request: Request, pk: str) -> Response:
        campaign = _campaign(pk)
        contact = _contact(body(request).get("contact_id"))
        services.campaign_record_sent(campaign=campaign, contact_id=contact.pk)
        campaign.refresh_from_db()
        return Response(CampaignSerializer(campaign).data)
