"""Django's error views, answered as JSON: every error from our API (and every refused request
on any route) is a JSON body `{success:false, error}`, never an HTML page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"success": False, "error": message}, status=status)


def bad_request(request: HttpRequest, exception: Any = None) -> JsonResponse:
    return _error("bad request", 400)


def permission_denied(request: HttpRequest, exception: Any = None) -> JsonResponse:
    return _error("permission denied", 403)


def not_found(request: HttpRequest, exception: Any = None) -> JsonResponse:
    return _error(f"{request.path} not found", 404)


def server_error(request: HttpRequest) -> JsonResponse:
    return _error("internal error", 500)
