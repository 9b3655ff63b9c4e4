"""The API's body parsers: DRF's, plus the checks of `safari_auto.inputs` on what they decode.

Every route gets them through `DEFAULT_PARSER_CLASSES`, so no view sees a lone surrogate, a NUL,
a number beyond 64 bits or nesting deeper than `inputs.MAX_DEPTH`: it answers 400 naming the
place first.
"""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

from safari_auto.inputs import MAX_DEPTH, document_problem, pairs_problem


def _checked(data: Any) -> Any:
    """The decoded body, or a 400 whose `fields` names the place (`payload.note`), as a
    serializer's would, so a client reads every refusal the same way."""
    if isinstance(data, QueryDict):
        problem = pairs_problem(((k, v) for k, vs in data.lists() for v in vs), "body")
    else:
        problem = document_problem(data)
    if problem:
        place, _, why = problem.partition(": ")
        field = place.removeprefix("body").lstrip(".") or "body"
        raise ValidationError({field: [why]})
    return data


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"body: nested deeper than {MAX_DEPTH} levels") from None
        return _checked(data)


class FormParser(parsers.FormParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        return _checked(super().parse(stream, media_type, parser_context))


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        result = super().parse(stream, media_type, parser_context)
        _checked(result.data)
        return result
