"""What every CRM view shares: authentication, query parameters, 404s."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.views import APIView

from crm.auth import CRM_AUTHENTICATION, ApiKeyUser
from safari_auto.permissions import ViewerReadsOperatorWrites

MAX_LIMIT = 500


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


def int_param(
    request: Request, name: str, default: int | None, *, low: int = 0, high: int | None = None
) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad(name, f"must be an integer, got {raw!r}") from None
    if value < low or (high is not None and value > high):
        upper = f" and {high}" if high is not None else ""
        raise bad(name, f"must be between {low}{upper}, got {value}")
    return value


def bool_param(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    value = raw.strip().lower()
    if value in ("1", "true", "yes"):
        return True
    if value in ("0", "false", "no"):
        return False
    raise bad(name, f"must be true or false, got {raw!r}")


def choice_param(request: Request, name: str, choices: Any) -> str | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    if raw not in choices:
        raise bad(name, f"{raw!r} is not one of {', '.join(sorted(choices))}")
    return str(raw)


def paging(request: Request, default_limit: int = 50) -> tuple[int, int]:
    limit = int_param(request, "limit", default_limit, low=1, high=MAX_LIMIT)
    offset = int_param(request, "offset", 0, low=0)
    return int(limit or default_limit), int(offset or 0)


def pk_or_404(value: Any, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise exceptions.NotFound(f"{what} {value} not found") from None


def found(obj: Any, what: str, pk: Any) -> Any:
    if obj is None:
        raise exceptions.NotFound(f"{what} {pk} not found")
    return obj


def body(request: Request) -> dict[str, Any]:
    """The JSON object in the request body (400 when it is something else)."""
    data = request.data
    if not isinstance(data, dict):
        raise bad("body", "must be a JSON object")
    return data
