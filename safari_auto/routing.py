"""Websocket routes. Only the dashboard has one; the CRM deployment (SAFARI_ROLE=crm)
installs no dashboard and so serves none."""

from django.apps import apps
from django.urls import URLPattern, path

websocket_urlpatterns: list[URLPattern] = []
if apps.is_installed("dashboard"):
    from dashboard.consumers import DashboardConsumer

    websocket_urlpatterns.append(
        path("ws/dashboard/", DashboardConsumer.as_asgi(), name="ws-dashboard")
    )
