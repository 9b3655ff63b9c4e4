"""The CRM as its own deployment (SAFARI_ROLE=crm, port 3020): only the CRM API and admin."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from crm.api.other import HealthView

urlpatterns = [
    path("health", HealthView.as_view(), name="health"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("", include("crm.urls")),
]
