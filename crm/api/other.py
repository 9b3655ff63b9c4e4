"""Health, stats, platform accounts and campaigns (the API convention: safari_auto/api.py)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers as S
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from crm import selectors, services
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


class HealthApi(CrmView):
    """Liveness for the old CRM client, which sends its x-api-key on every call:
    {status:"ok", service:"crm"}. Only /health answers anonymously."""

    class OutputSerializer(S.Serializer[Any]):
        status = S.CharField()
        service = S.CharField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        return Response({"status": "ok", "service": "crm"})


class StatsApi(CrmView):
    class OutputSerializer(S.Serializer[Any]):
        contacts = S.JSONField()
        conversations = S.JSONField()
        last_sync = S.JSONField(allow_null=True)

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        return Response(selectors.crm_stats())


class PlatformAccountsApi(CrmView):
    """GET the platform accounts (handles); POST one for a contact."""

    ListQuerySerializer = PlatformAccountQuery
    InputSerializer = PlatformAccountInputSerializer
    OutputSerializer = PlatformAccountSerializer

    class ListOutputSerializer(S.Serializer[Any]):
        accounts = PlatformAccountSerializer(many=True)

    @extend_schema(parameters=[ListQuerySerializer], responses=ListOutputSerializer)
    def get(self, request: Request) -> Response:
        query = self.ListQuerySerializer.parse(request)
        accounts = selectors.platform_account_list(
            platform=query.get("platform"), contact_id=query.get("contact_id")
        )
        return Response({"accounts": PlatformAccountSerializer(accounts, many=True).data})

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        contact = selectors.contact_get(contact_id=data.pop("contact_id"))
        if contact is None:
            raise bad("contact_id", f"no contact {body(request).get('contact_id')}")
        account = services.platform_account_create(contact=contact, data=data)
        return Response(self.OutputSerializer(account).data, status=status.HTTP_201_CREATED)


def _campaign(pk: Any) -> Campaign:
    campaign_id = pk_or_404(pk, "campaign")
    return found(selectors.campaign_get(campaign_id=campaign_id), "campaign", pk)  # type: ignore[no-any-return]


class CampaignsApi(CrmView):
    """GET the campaigns; POST one."""

    ListQuerySerializer = CampaignListQuery
    InputSerializer = CampaignSerializer
    OutputSerializer = CampaignSerializer

    class ListOutputSerializer(S.Serializer[Any]):
        campaigns = CampaignSerializer(many=True)

    @extend_schema(parameters=[ListQuerySerializer], responses=ListOutputSerializer)
    def get(self, request: Request) -> Response:
        query = self.ListQuerySerializer.parse(request)
        campaigns = selectors.campaign_list(
            status=query.get("status"), platform=query.get("platform")
        )
        return Response({"campaigns": CampaignSerializer(campaigns, many=True).data})

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        campaign = services.campaign_create(data=dict(serializer.validated_data))
        return Response(self.OutputSerializer(campaign).data, status=status.HTTP_201_CREATED)


class CampaignDetailApi(CrmView):
    OutputSerializer = CampaignSerializer

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, pk: str) -> Response:
        return Response(self.OutputSerializer(_campaign(pk)).data)


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


class _Target(S.Serializer[Any]):
    contact = ContactSerializer()
    username = S.CharField()
    message = S.CharField()


class CampaignTargetsApi(CrmView):
    """GET /api/campaigns/<id>/targets?platform=&limit= : the campaign's next contacts."""

    QuerySerializer = TargetsQuery

    class OutputSerializer(S.Serializer[Any]):
        targets = _Target(many=True)

    @extend_schema(parameters=[QuerySerializer], responses=OutputSerializer)
    def get(self, request: Request, pk: str) -> Response:
        campaign = _campaign(pk)
        query = self.QuerySerializer.parse(request)
        pairs = selectors.campaign_targets(
            campaign=campaign, platform=query["platform"], limit=query["limit"]
        )
        return Response({"targets": [target_json(campaign, c, h) for c, h in pairs]})


class CampaignSentApi(CrmView):
    """POST /api/campaigns/<id>/sent {contact_id}: count one campaign message."""

    OutputSerializer = CampaignSerializer

    class InputSerializer(S.Serializer[Any]):
        contact_id = S.CharField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Request, pk: str) -> Response:
        campaign = _campaign(pk)
        contact = _contact(body(request).get("contact_id"))
        services.campaign_record_sent(campaign=campaign, contact_id=contact.pk)
        campaign.refresh_from_db()
        return Response(self.OutputSerializer(campaign).data)
