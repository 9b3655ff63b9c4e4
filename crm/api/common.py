"""What every CRM view shares: authentication, 400s and 404s."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.views import APIView

from crm.auth import CRM_AUTHENTICATION, ApiKeyUser
from safari_auto.bounds import MAX_ID
from safari_auto.inputs import shown
from safari_auto.permissions import ViewerReadsOperatorWrites


class CrmRole(ViewerReadsOperatorWrites):
    """A CRM API key may read and write the CRM (the old CRM client's key does both); a
    user needs the viewer role to read and the operator role to write. Keys authenticate on
    CRM views only, so they reach nothing else."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if isinstance(request.user, ApiKeyUser):
            return True
        return super().has_permission(request, view)


class CrmView(APIView):
    authentication_classes = CRM_AUTHENTICATION
    permission_classes = [CrmRole]


def bad(field: str, message: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({field: [message]})


def pk_or_404(value: Any, what: str) -> int:
    """The id in a path or body, or 404: ids are positive and fit the id column."""
    try:
        pk = int(value)
    except (TypeError, ValueError):
        pk = 0
    if not 1 <= pk <= MAX_ID:
        raise exceptions.NotFound(f"{what} {shown(value)} not found")
    return pk


def found(obj: Any, what: str, pk: Any) -> Any:
    if obj is None:
        raise exceptions.NotFound(f"{what} {shown(pk)} not found")
    return obj


def body(request: Request) -> dict[str, Any]:
    """The JSON object in the request body (400 when it is something else)."""
    data = request.data
    if not isinstance(data, dict):
        raise bad("body", "must be a JSON object")
    return data
