"""Health, stats, platform accounts and campaigns."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from crm import selectors, services
from crm.api import docs
from crm.api.common import CrmView, bad, body, found, pk_or_404
from crm.api.contacts import _contact
from crm.api.queries import CampaignListQuery, PlatformAccountQuery, TargetsQuery
from crm.api.serializers import (
    CampaignSerializer,
    ContactSerializer,
    PlatformAccountInputSerializer,
    PlatformAccountSerializer,
)
from crm.models import Campaign
from crm.text import template_render, template_text, template_variables


class HealthView(CrmView):
    """Liveness for the old CRM client, which sends its x-api-key on every call:
    {status:"ok", service:"crm"}. Only /health answers anonymously."""

    @extend_schema(responses=docs.Health)
    def get(self, request: Request) -> Response:
        return Response({"status": "ok", "service": "crm"})


class StatsView(CrmView):
    @extend_schema(responses=docs.Stats)
    def get(self, request: Request) -> Response:
        return Response(selectors.crm_stats())


class PlatformAccountsView(CrmView):
    @extend_schema(parameters=[PlatformAccountQuery], responses=docs.Accounts)
    def get(self, request: Request) -> Response:
        query = PlatformAccountQuery.parse(request)
        accounts = selectors.platform_account_list(
            platform=query.get("platform"), contact_id=query.get("contact_id")
        )
        return Response({"accounts": PlatformAccountSerializer(accounts, many=True).data})

    @extend_schema(
        request=PlatformAccountInputSerializer, responses={201: PlatformAccountSerializer}
    )
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
    @extend_schema(parameters=[CampaignListQuery], responses=docs.Campaigns)
    def get(self, request: Request) -> Response:
        query = CampaignListQuery.parse(request)
        campaigns = selectors.campaign_list(
            status=query.get("status"), platform=query.get("platform")
        )
        return Response({"campaigns": CampaignSerializer(campaigns, many=True).data})

    @extend_schema(request=CampaignSerializer, responses={201: CampaignSerializer})
    def post(self, request: Request) -> Response:
        serializer = CampaignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        campaign = services.campaign_create(data=dict(serializer.validated_data))
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)


class CampaignDetailView(CrmView):
    @extend_schema(responses=CampaignSerializer)
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

    @extend_schema(parameters=[TargetsQuery], responses=docs.Targets)
    def get(self, request: Request, pk: str) -> Response:
        campaign = _campaign(pk)
        query = TargetsQuery.parse(request)
        pairs = selectors.campaign_targets(
            campaign=campaign, platform=query["platform"], limit=query["limit"]
        )
        return Response({"targets": [target_json(campaign, c, h) for c, h in pairs]})


class CampaignSentView(CrmView):
    """POST /api/campaigns/<id>/sent {contact_id}: count one campaign message."""

    @extend_schema(request=docs.CampaignSentInput, responses=CampaignSerializer)
    def post(self, request: Request, pk: str) -> Response:
        campaign = _campaign(pk)
        contact = _contact(body(request).get("contact_id"))
        services.campaign_record_sent(campaign=campaign, contact_id=contact.pk)
        campaign.refresh_from_db()
        return Response(CampaignSerializer(campaign).data)
