"""Contact routes: list/create, detail, by handle, tags, interactions, upsert, do-not-contact
(the API convention: safari_auto/api.py)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, status
from rest_framework import serializers as S
from rest_framework.request import Request
from rest_framework.response import Response

from crm import selectors, services
from crm.api import docs
from crm.api.common import CrmView, bad, body, found, pk_or_404
from crm.api.queries import ContactListQuery, LimitQuery, TagQuery
from crm.api.serializers import (
    ContactInputSerializer,
    ContactSerializer,
    ContactUpsertInput,
    DoNotContactInput,
    InteractionSerializer,
)
from crm.models import Contact


def contact_json(contact: Contact) -> dict[str, Any]:
    fresh = selectors.contact_get(contact_id=contact.pk)
    return dict(ContactSerializer(fresh).data)


def _contact(pk: Any) -> Contact:
    contact_id = pk_or_404(pk, "contact")
    return found(selectors.contact_get(contact_id=contact_id), "contact", pk)  # type: ignore[no-any-return]


class _Tags(S.Serializer[Any]):
    tags = S.ListField(child=S.CharField())


class ContactsApi(CrmView):
    """GET a page of contacts; POST one new contact."""

    ListQuerySerializer = ContactListQuery
    CreateInputSerializer = ContactInputSerializer
    OutputSerializer = ContactSerializer

    class ListOutputSerializer(S.Serializer[Any]):
        contacts = ContactSerializer(many=True)
        total = S.IntegerField()
        limit = S.IntegerField()
        offset = S.IntegerField()

    @extend_schema(parameters=[ListQuerySerializer], responses=ListOutputSerializer)
    def get(self, request: Request) -> Response:
        query = self.ListQuerySerializer.parse(request)
        page = selectors.contact_list(**query)
        contacts = ContactSerializer(page.items, many=True).data
        return Response(
            {
                "contacts": contacts,
                "total": page.total,
                "limit": query["limit"],
                "offset": query["offset"],
            }
        )

    @extend_schema(request=CreateInputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request) -> Response:
        serializer = self.CreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        accounts = data.pop("platform_accounts", [])
        if not data.get("display_name") and not accounts:
            raise bad("display_name", "give a display_name or at least one platform account")
        contact = services.contact_create(data=data, platform_accounts=accounts)
        return Response(contact_json(contact), status=status.HTTP_201_CREATED)


class ContactDetailApi(CrmView):
    """GET, PATCH or DELETE one contact."""

    InputSerializer = ContactInputSerializer
    OutputSerializer = ContactSerializer

    class DeleteOutputSerializer(S.Serializer[Any]):
        deleted = S.BooleanField()
        id = S.CharField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, pk: str) -> Response:
        return Response(self.OutputSerializer(_contact(pk)).data)

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def patch(self, request: Request, pk: str) -> Response:
        contact = _contact(pk)
        serializer = self.InputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("platform_accounts", None)
        services.contact_update(contact=contact, data=data)
        return Response(contact_json(contact))

    @extend_schema(responses=DeleteOutputSerializer)
    def delete(self, request: Request, pk: str) -> Response:
        services.contact_delete(contact=_contact(pk))
        return Response({"deleted": True, "id": str(pk)})


class ContactByUsernameApi(CrmView):
    OutputSerializer = ContactSerializer

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request, platform: str, username: str) -> Response:
        contact = selectors.contact_by_handle(platform=platform, username=username)
        found(contact, f"contact with {platform} handle", f"@{username}")
        return Response(self.OutputSerializer(contact).data)


class ContactTagsApi(CrmView):
    """POST or DELETE one tag; the tag comes in the body (or, on DELETE, the query)."""

    QuerySerializer = TagQuery
    OutputSerializer = _Tags

    class InputSerializer(S.Serializer[Any]):
        tag = S.CharField(max_length=64)

    def _tag(self, request: Request) -> str:
        tag = request.data.get("tag") if isinstance(request.data, dict) else None
        tag = tag or self.QuerySerializer.parse(request).get("tag")
        if not isinstance(tag, str) or not tag.strip():
            raise bad("tag", "required, a non-empty string")
        return tag

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Request, pk: str) -> Response:
        tags = services.contact_tag_add(contact=_contact(pk), tag=self._tag(request))
        return Response({"tags": tags})

    @extend_schema(
        parameters=[QuerySerializer], request=InputSerializer, responses=OutputSerializer
    )
    def delete(self, request: Request, pk: str) -> Response:
        tags = services.contact_tag_remove(contact=_contact(pk), tag=self._tag(request))
        return Response({"tags": tags})


class ContactInteractionsApi(CrmView):
    """GET a contact's interactions; POST one."""

    ListQuerySerializer = LimitQuery
    InputSerializer = InteractionSerializer
    OutputSerializer = InteractionSerializer

    class ListOutputSerializer(S.Serializer[Any]):
        interactions = InteractionSerializer(many=True)

    @extend_schema(parameters=[ListQuerySerializer], responses=ListOutputSerializer)
    def get(self, request: Request, pk: str) -> Response:
        limit = self.ListQuerySerializer.parse(request)["limit"]
        interactions = selectors.interaction_list(contact=_contact(pk), limit=limit)
        return Response({"interactions": InteractionSerializer(interactions, many=True).data})

    @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
    def post(self, request: Request, pk: str) -> Response:
        contact = _contact(pk)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        interaction = services.interaction_create(
            contact=contact, data=dict(serializer.validated_data)
        )
        return Response(self.OutputSerializer(interaction).data, status=status.HTTP_201_CREATED)


class ContactUpsertApi(CrmView):
    """POST /api/contacts/upsert {platform, username, display_name?, fields?} (crm.client).
    `fields` is checked by ContactInputSerializer (partial); `docs.ContactUpsertDoc` shows both."""

    InputSerializer = ContactUpsertInput
    OutputSerializer = ContactSerializer

    @extend_schema(
        request=docs.ContactUpsertDoc, responses={201: OutputSerializer, 200: OutputSerializer}
    )
    def post(self, request: Request) -> Response:
        given = self.InputSerializer(data=body(request))
        given.is_valid(raise_exception=True)
        fields = ContactInputSerializer(data=given.validated_data.get("fields") or {}, partial=True)
        if not fields.is_valid():
            raise exceptions.ValidationError({"fields": fields.errors})
        data = dict(fields.validated_data)
        data.pop("platform_accounts", None)
        contact, created = services.contact_upsert(
            platform=given.validated_data["platform"],
            username=given.validated_data["username"],
            display_name=given.validated_data.get("display_name") or None,
            fields=data or None,
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(contact_json(contact), status=code)


class ContactDoNotContactApi(CrmView):
    """POST /api/contacts/do-not-contact {platform, username, value=true} (crm.client)."""

    InputSerializer = DoNotContactInput

    class OutputSerializer(S.Serializer[Any]):
        contact_id = S.CharField()
        do_not_contact = S.BooleanField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request: Request) -> Response:
        given = self.InputSerializer(data=body(request))
        given.is_valid(raise_exception=True)
        value = given.validated_data["value"]
        contact = services.contact_set_do_not_contact(
            platform=given.validated_data["platform"],
            username=given.validated_data["username"],
            value=value,
        )
        return Response({"contact_id": str(contact.pk), "do_not_contact": value})
