from typing import Any

from django.conf import settings
from django.http import HttpRequest

from safari_auto.demo import real_services


def demo(request: HttpRequest) -> dict[str, Any]:
    """Tell every template whether the data on screen is simulated: DEMO only when every
    service URL is its simulator's, and which services are real if DEMO is on but some are."""
    real = real_services(settings.SERVICE_URLS, settings.SIM_PORT_OFFSET) if settings.DEMO else []
    return {"DEMO": settings.DEMO and not real, "DEMO_REAL_SERVICES": real}
