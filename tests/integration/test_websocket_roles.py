"""Every websocket route (safari_auto/routing.py), through the real ASGI stack, with each
kind of caller: only the viewer and operator roles (and superusers) get in."""

import asyncio

import pytest
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from dashboard import relay as relay_module
from safari_auto.asgi import application
from safari_auto.routing import websocket_urlpatterns
from tests.conftest import make_user
from tests.routes import _concrete

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://127.0.0.1:3010")


def _cookie(user):
    client = Client()
    client.force_login(user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())


def test_every_socket_route_lets_in_only_the_roles(monkeypatch):
    monkeypatch.setattr(relay_module, "_relay", relay_module.Relay(idle_stop_seconds=0))
    callers = {
        "anonymous": ([], False),
        "norole": ([_cookie(make_user("nobody", is_staff=True))], False),
        "crm_key": ([(b"x-api-key", b"crm_whatever")], False),
        "viewer": ([_cookie(make_user("reader", "viewer"))], True),
        "operator": ([_cookie(make_user("boss", "operator"))], True),
        "superuser": (
            [_cookie(get_user_model().objects.create_superuser("root", "", "root-pass-1"))],
            True,
        ),
    }
    assert websocket_urlpatterns

    async def scenario():
        wrong = []
        for route in websocket_urlpatterns:
            path = _concrete(str(route.pattern))
            for who, (headers, allowed) in callers.items():
                socket = WebsocketCommunicator(application, path, headers=[ORIGIN, *headers])
                connected, _ = await socket.connect()
                if connected:
                    await socket.disconnect()
                if connected != allowed:
                    wrong.append(f"{path}: {who} {'let in' if connected else 'refused'}")
        return wrong

    assert asyncio.run(scenario()) == []
