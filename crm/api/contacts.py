"""Contact routes: list/create, detail, by handle, tags, interactions, upsert, do-not-contact."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from crm import selectors, services
from crm.api.common import (
    CrmView,
    bad,
    body,
    bool_param,
    choice_param,
    found,
    int_param,
    paging,
    pk_or_404,
)
from crm.api.serializers import (
    ContactInputSerializer,
    ContactSerializer,
    InteractionSerializer,
)
from crm.models import Contact, Platform, Stage


def contact_json(contact: Contact) -> dict[str, Any]:
    fresh = selectors.contact_get(contact_id=contact.pk)
    return dict(ContactSerializer(fresh).data)


def _contact(pk: Any) -> Contact:
    contact_id = pk_or_404(pk, "contact")
    return found(selectors.contact_get(contact_id=contact_id), "contact", pk)  # type: ignore[no-any-return]


class ContactsView(CrmView):
    def get(self, request: Request) -> Response:
        limit, offset = paging(request)
        order = choice_param(request, "order", {"asc", "desc"}) or "desc"
        page = selectors.contact_list(
            platform=choice_param(request, "platform", Platform.values),
            stage=choice_param(request, "stage", Stage.values),
            tag=request.query_params.get("tag") or None,
            search=request.query_params.get("search") or None,
            do_not_contact=bool_param(request, "do_not_contact"),
            min_score=int_param(request, "min_score", None, low=0, high=100),
            max_score=int_param(request, "max_score", None, low=0, high=100),
            sort=choice_param(request, "sort", selectors.CONTACT_SORTS) or "updated_at",
            order=order,
            limit=limit,
            offset=offset,
        )
        contacts = ContactSerializer(page.items, many=True).data
        return Response(
            {"contacts": contacts, "total": page.total, "limit": limit, "offset": offset}
        )

    def post(self, request: Request) -> Response:
        serializer = ContactInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        accounts = data.pop("platform_accounts", [])
        if not data.get("display_name") and not accounts:
            raise bad("display_name", "give a display_name or at least one platform account")
        contact = services.contact_create(data=data, platform_accounts=accounts)
        return Response(contact_json(contact), status=status.HTTP_201_CREATED)


class ContactDetailView(CrmView):
    def get(self, request: Request, pk: str) -> Response:
        return Response(ContactSerializer(_contact(pk)).data)

    def patch(self, request: Request, pk: str) -> Response:
        contact = _contact(pk)
        serializer = ContactInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("platform_accounts", None)
        services.contact_update(contact=contact, data=data)
        return Response(contact_json(contact))

    def delete(self, request: Request, pk: str) -> Response:
        services.contact_delete(contact=_contact(pk))
        return Response({"deleted": True, "id": str(pk)})


class ContactByUsernameView(CrmView):
    def get(self, request: Request, platform: str, username: str) -> Response:
        contact = selectors.contact_by_handle(platform=platform, username=username)
        found(contact, f"contact with {platform} handle", f"@{username}")
        return Response(ContactSerializer(contact).data)


def _tag(request: Request) -> str:
    tag = request.data.get("tag") if isinstance(request.data, dict) else None
    tag = tag or request.query_params.get("tag")
    if not isinstance(tag, str) or not tag.strip():
        raise bad("tag", "required, a non-empty string")
    return tag


class ContactTagsView(CrmView):
    def post(self, request: Request, pk: str) -> Response:
        return Response({"tags": services.contact_tag_add(contact=_contact(pk), tag=_tag(request))})

    def delete(self, request: Request, pk: str) -> Response:
        tags = services.contact_tag_remove(contact=_contact(pk), tag=_tag(request))
        return Response({"tags": tags})


class ContactInteractionsView(CrmView):
    def get(self, request: Request, pk: str) -> Response:
        limit = int_param(request, "limit", 50, low=1, high=500) or 50
        interactions = selectors.interaction_list(contact=_contact(pk), limit=limit)
        return Response({"interactions": InteractionSerializer(interactions, many=True).data})

    def post(self, request: Request, pk: str) -> Response:
        contact = _contact(pk)
        serializer = InteractionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        interaction = services.interaction_create(
            contact=contact, data=dict(serializer.validated_data)
        )
        return Response(InteractionSerializer(interaction).data, status=status.HTTP_201_CREATED)


class ContactUpsertView(CrmView):
    """POST /api/contacts/upsert {platform, username, display_name?, fields?} (crm.client)."""

    def post(self, request: Request) -> Response:
        platform, username = body(request).get("platform"), body(request).get("username")
        if platform not in Platform.values:
            raise bad("platform", f"{platform!r} is not a platform")
        if not isinstance(username, str) or not username.strip():
            raise bad("username", "required")
        fields = body(request).get("fields") or {}
        serializer = ContactInputSerializer(data=fields, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("platform_accounts", None)
        contact, created = services.contact_upsert(
            platform=platform,
            username=username,
            display_name=body(request).get("display_name") or None,
            fields=data or None,
        )
        code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(contact_json(contact), status=code)


class ContactDoNotContactView(CrmView):
    """POST /api/contacts/do-not-contact {platform, username, value=true} (crm.client)."""

    def post(self, request: Request) -> Response:
        platform, username = body(request).get("platform"), body(request).get("username")
        if platform not in Platform.values:
            raise bad("platform", f"{platform!r} is not a platform")
        if not isinstance(username, str) or not username.strip():
            raise bad("username", "required")
        value = body(request).get("value", True)
        if not isinstance(value, bool):
            raise bad("value", "must be true or false")
        contact = services.contact_set_do_not_contact(
            platform=platform, username=username, value=value
        )
        return Response({"contact_id": str(contact.pk), "do_not_contact": value})
