"""ASGI entry point of the CRM as its own deployment (port 3020): HTTP only, CRM role.

    SAFARI_ROLE=crm daphne -b 127.0.0.1 -p 3020 crm.asgi:application

It needs nothing from the rest of the project (no websocket routing, no dashboard), so the CRM
runs with only `crm` and the core apps installed.
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safari_auto.settings")
os.environ.setdefault("SAFARI_ROLE", "crm")
application = get_asgi_application()
