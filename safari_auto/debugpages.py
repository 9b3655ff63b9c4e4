"""Django's technical error pages only for a superuser on this machine, in development.

DEBUG is off by default everywhere. When a developer turns it on, the technical 500 page
(also used for 400s such as an oversized body) and the technical 404 page (URL patterns,
settings) are shown only to an active superuser whose request comes from 127.0.0.1 or ::1
while `SAFARI_ENV=development`. Everyone else gets the plain answer production gives:
JSON under `/api/`, a short text or HTML page elsewhere.

- `GatedExceptionReporter` (`DEFAULT_EXCEPTION_REPORTER`) gates the technical 500 page.
- `TechnicalPagesGate` (first middleware) gates the technical 404 page, both for a URL that
  does not resolve and for a view that raises Http404.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.deprecation import MiddlewareMixin
from django.views.debug import ExceptionReporter

LOCAL_ADDRESSES = frozenset({"127.0.0.1", "::1"})
BAD_REQUEST = (BadRequest, SuspiciousOperation, MultiPartParserError)


def technical_pages_allowed(request: HttpRequest | None) -> bool:
    """True only for an active superuser on localhost, with DEBUG on, in development."""
    if request is None or not settings.DEBUG or settings.SAFARI_ENV != "development":
        return False
    if request.META.get("REMOTE_ADDR") not in LOCAL_ADDRESSES:
        return False
    try:
        user = getattr(request, "user", None)
        return bool(user is not None and user.is_active and user.is_superuser)
    except Exception:  # the database may be what failed: no page, rather than a second error
        return False


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or (
        request.get_preferred_type(["text/html", "application/json"]) == "application/json"
    )


def plain_error(request: HttpRequest, status: int) -> HttpResponse:
    """What production answers: no traceback, no settings, no URL patterns."""
    message = {400: "Bad request.", 404: "Not found."}.get(status, "Server error.")
    if _wants_json(request):
        return JsonResponse({"success": False, "error": message}, status=status)
    return HttpResponse(
        f"<!doctype html><title>{status}</title><h1>{message}</h1>",
        status=status,
        content_type="text/html",
    )


class GatedExceptionReporter(ExceptionReporter):
    """The technical 500 page, or a plain one for anyone not allowed to see it."""

    def _shown(self) -> bool:
        return self.is_email or technical_pages_allowed(self.request)

    def _plain(self) -> str:
        return (
            "Bad request (400)" if isinstance(self.exc_value, BAD_REQUEST) else "Server error (500)"
        )

    def get_traceback_html(self) -> Any:
        if self._shown():
            return super().get_traceback_html()
        return f"<!doctype html><title>Error</title><h1>{self._plain()}</h1>"

    def get_traceback_text(self) -> Any:
        return super().get_traceback_text() if self._shown() else self._plain()


class TechnicalPagesGate(MiddlewareMixin):
    """Replace the technical 404 page with the plain one for untrusted requests."""

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Http404) and self._gated(request):
            return plain_error(request, 404)
        return None

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        unresolved = getattr(request, "resolver_match", None) is None
        if response.status_code == 404 and unresolved and self._gated(request):
            return plain_error(request, 404)  # the URL resolver's 404: the technical page
        return response

    @staticmethod
    def _gated(request: HttpRequest) -> bool:
        return settings.DEBUG and not technical_pages_allowed(request)
