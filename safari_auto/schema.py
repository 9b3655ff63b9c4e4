"""The OpenAPI schema's shared parts: the error answers every route can give, documented once.

Every route can answer 400 (a parser or the request guard refused the input), 401/403
(credentials, roles) and 413 (a body over the size limit); routes with path parameters 404;
writes 409 (the request does not fit the object's state, or an idempotency key reused with
another body); routes that read a body 415 (a Content-Type none of their parsers reads). All
share one body, `{success:false, error, fields?}`. DELETE answers 200 with a JSON body, never an
empty 204 (the old CRM client parses every answer).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    name="Error",
    fields={
        "success": serializers.BooleanField(),
        "error": serializers.CharField(),
        "fields": serializers.JSONField(required=False),
    },
)

ALWAYS = {
    "400": "invalid input, named in `error` (and per field in `fields`)",
    "401": "no or invalid credentials",
    "403": "the credentials lack the role this route needs",
    "413": "the body is larger than the upload limit",
}
NOT_FOUND = {"404": "no such object"}
CONFLICT = {"409": "the request does not fit the object's current state"}
UNSUPPORTED = {"415": "the body's Content-Type is not one this route reads"}
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
WITH_BODY = {"POST", "PUT", "PATCH"}


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses: dict[str, Any] = super()._get_response_bodies(direction)
        if self.method == "DELETE" and set(responses) == {"204"}:
            serializer = self.get_response_serializers()
            answer = self._get_response_for_code(serializer, "200", direction=direction)  # type: ignore[no-untyped-call]
            responses = {"200": answer}
        for code, why in self.error_codes().items():
            if code not in responses:
                answer = OpenApiResponse(ErrorSerializer, description=why)
                responses[code] = self._get_response_for_code(answer, code, direction=direction)  # type: ignore[no-untyped-call]
        return responses

    def _get_serializer_name(
        self, serializer: Any, direction: Any, bypass_extensions: bool = False
    ) -> str:
        """A serializer nested in its API class (`DmSendApi.InputSerializer`) is named after
        both (`DmSendApiInput`): every API class has its own `InputSerializer`."""
        name: str = super()._get_serializer_name(serializer, direction, bypass_extensions)
        owner, _, _ = type(serializer).__qualname__.rpartition(".")
        meta = getattr(serializer, "Meta", None)
        if owner and "<locals>" not in owner and getattr(meta, "ref_name", None) is None:
            return owner.replace(".", "") + name
        return name

    def error_codes(self) -> dict[str, str]:
        codes = dict(ALWAYS)
        if "{" in self.path:
            codes |= NOT_FOUND
        if self.method in WRITES:
            codes |= CONFLICT
        if self.method in WITH_BODY:
            codes |= UNSUPPORTED
        return codes


# The body of an action that takes no input: any JSON object (usually `{}`), optional and ignored.
NO_INPUT = OpenApiTypes.OBJECT
