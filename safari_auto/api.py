"""The API convention every app follows, and what it shares: errors, query parsing.

One API class per route (`<Thing><Action>Api`, an `APIView`); each HTTP method on it is one
operation and reads the same way (HackSoft Django-Styleguide, "APIs & Serializers"):

    class QueueVideosApi(APIView):
        permission_classes = [ViewerReadsOperatorWrites]   # its role, always declared

        class InputSerializer(serializers.Serializer): ...   # the body, if it takes one
        class QuerySerializer(api.QuerySerializer): ...      # the query, if it reads one
        class OutputSerializer(serializers.Serializer): ...  # the answer's shape

        @extend_schema(request=InputSerializer, responses={201: OutputSerializer})
        def post(self, request):
            data = self.InputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            result = services.videos_queue(**data.validated_data)  # one service or selector
            return Response(..., status=201)

- The shapes are nested in the class that uses them; a route with several methods prefixes
  them (`ListOutputSerializer`, `ImportInputSerializer`). Shapes several classes build on
  (a task, a contact) live in the app's `serializers.py`. The schema names a nested shape
  after its class (`QueueVideosApiInput`, safari_auto/schema.py).
- Every operation carries `extend_schema` with its request and response shapes: the served
  schema is the contract the fuzzer and tests/integration/test_schema_covers_routes.py check.
- Query parameters go through a `QuerySerializer` (below), never `request.query_params` by hand.
- Errors are raised (DRF/Django ValidationError, NotFoundError, ConflictError) and answered in
  one shape by `exception_handler`: `{success:false, error, fields?}`, `error` naming the field.
"""

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
