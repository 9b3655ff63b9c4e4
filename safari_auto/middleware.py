"""The request guard: the first middleware, so nothing has read the request before it.

- A body over `DATA_UPLOAD_MAX_MEMORY_SIZE` (by its Content-Length, on any route, signed in or
  not) answers 413 as JSON before anything reads it; one found too big while reading (a form
  with too many fields, a body without Content-Length) answers 413/400 as JSON too.
- A path, query parameter or form field carrying a NUL or a lone surrogate answers 400 as JSON.
Bodies are checked by the API's parsers (`safari_auto.parsers`).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, JsonResponse

from safari_auto.inputs import pairs_problem, text_problem

FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def json_error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"success": False, "error": message}, status=status)


def refused(problem: str) -> JsonResponse:
    """400 for `place: why` (`form.reason: contains a NUL character`), with `fields` naming
    the field as a serializer's answer would (`reason`)."""
    place, _, why = problem.partition(": ")
    field = place.split(".", 1)[1] if "." in place else place
    body = {"success": False, "error": problem, "fields": {field: [why]}}
    return JsonResponse(body, status=400)


def too_big() -> JsonResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return json_error(f"body: larger than the limit of {limit} bytes", 413)


class RequestGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refusal: HttpResponse | None
        try:
            refusal = self.refusal(request)
        except SuspiciousOperation as exc:  # reading the form found it too big
            refusal = self.process_exception(request, exc)
        return refusal if refusal is not None else self.get_response(request)

    def refusal(self, request: HttpRequest) -> JsonResponse | None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error("Content-Length: not a number", 400)
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and length > limit:
            return too_big()
        problem = text_problem(request.path_info)
        if problem:
            return json_error(f"path: {problem}", 400)
        problem = pairs_problem(((k, v) for k, vs in request.GET.lists() for v in vs), "query")
        if not problem and request.method == "POST" and request.content_type in FORMS:
            form = request.POST
            problem = pairs_problem(((k, v) for k, vs in form.lists() for v in vs), "form")
        return refused(problem) if problem else None

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if isinstance(exc, RequestDataTooBig):
            return too_big()
        if isinstance(exc, SuspiciousOperation):
            return json_error(f"request refused: {exc}", 400)
        return None
