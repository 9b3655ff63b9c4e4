from typing import Any

from django.conf import settings
from django.http import HttpRequest


def demo(request: HttpRequest) -> dict[str, Any]:
    """Tell every template whether the data on screen is simulated."""
    return {"DEMO": settings.DEMO}
