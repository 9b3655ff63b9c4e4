"""The CRM as its own deployment (SAFARI_ROLE=crm, port 3020): only the CRM API and admin."""

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.decorators.http import require_GET
from drf_spectacular.views import SpectacularAPIView


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness, the one anonymous route."""
    return JsonResponse({"status": "ok", "service": "crm"})


urlpatterns = [
    path("health", health, name="health"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("", include("crm.urls")),
]

handler400 = "safari_auto.errors.bad_request"
handler403 = "safari_auto.errors.permission_denied"
handler404 = "safari_auto.errors.not_found"
handler500 = "safari_auto.errors.server_error"
