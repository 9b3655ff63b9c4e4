from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.http import require_GET


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """Liveness, the one anonymous route: {status, service, timestamp}."""
    return JsonResponse(
        {"status": "ok", "service": "scheduler", "timestamp": timezone.now().isoformat()}
    )
