"""API conventions shared by every app: JSON errors that say what was wrong."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def _first_message(detail: Any, prefix: str = "") -> str:
    """Flatten DRF's nested error detail into one readable sentence naming the field."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "" if key == "non_field_errors" else str(key)
            return _first_message(value, f"{prefix}.{name}" if prefix and name else name or prefix)
        return prefix or "invalid input"
    if isinstance(detail, list) and detail:
        return _first_message(detail[0], prefix)
    text = str(detail)
    return f"{prefix}: {text}" if prefix else text


class NotFoundError(Exception):
    """A service could not find what it was asked about: 404 at the API."""


class ConflictError(Exception):
    """The request does not fit the object's current state: 409 at the API."""


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, NotFoundError):
        return error(str(exc), status.HTTP_404_NOT_FOUND)
    if isinstance(exc, ConflictError):
        return error(str(exc), status.HTTP_409_CONFLICT)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = response.data
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"success": False, "error": _first_message(detail), "fields": detail}
    else:
        message = detail.get("detail", detail) if isinstance(detail, dict) else detail
        response.data = {"success": False, "error": str(message)}
    return response


def error(message: str, code: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"success": False, "error": message}, status=code)


class QuerySerializer(serializers.Serializer):  # type: ignore[type-arg]
    """The query parameters of one route, declared once: it validates (a bad value answers 400
    `{success:false, error, fields}` naming the parameter, like every other input) and documents
    (`extend_schema(parameters=[TheQuery])`). Empty values count as absent, as the old clients
    send them; a repeated parameter counts once, its last value."""

    @classmethod
    def parse(cls, request: Request) -> dict[str, Any]:
        present = {k: v for k, v in request.query_params.items() if v != ""}
        query = cls(data=present)
        query.is_valid(raise_exception=True)
        return dict(query.validated_data)
