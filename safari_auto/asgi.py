"""ASGI entry point: HTTP through Django, websockets through Channels.

The websocket stack is origin validator → auth → router, as in Channels' own examples.
"""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safari_auto.settings")
# Each request runs in a thread of its own here: the settings close its connections with it.
os.environ["SAFARI_ASGI"] = "1"
django.setup(set_prefix=False)  # as get_asgi_application() does

from safari_auto.asgi_handler import OneHopASGIHandler  # noqa: E402

django_asgi_app = OneHopASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from safari_auto.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
