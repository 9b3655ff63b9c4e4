"""Under daphne every HTTP request crosses from the event loop to a thread once: the whole
middleware chain and the view run in the request's thread (`safari_auto.asgi_handler`).
Django's own handler ran each middleware's hooks through a thread hop of their own, about
fifteen per request, most of a small answer's CPU."""

import asyncio
from unittest import mock

import pytest
from asgiref.sync import SyncToAsync

pytestmark = pytest.mark.django_db(transaction=True)


async def get(application, path):
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "scheme": "http", "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 3010),
    }  # fmt: skip
    body = [{"type": "http.request", "body": b"", "more_body": False}]
    sent = []

    async def receive():
        if body:
            return body.pop()
        await asyncio.sleep(3600)  # the client stays connected

    async def send(message):
        sent.append(message)

    await application(scope, receive, send)
    return sent[0]["status"]


def test_a_request_hops_to_a_thread_once_for_its_middleware_and_view(settings):
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    from safari_auto.asgi import application

    hops = []
    real = SyncToAsync.__call__

    def counted(self, *args, **kwargs):
        hops.append(getattr(self.func, "__qualname__", repr(self.func)))
        return real(self, *args, **kwargs)

    with mock.patch.object(SyncToAsync, "__call__", counted):
        assert asyncio.run(get(application, "/health")) == 200
    chain = [hop for hop in hops if "get_response" in hop or "process_" in hop]
    # request_started and request_finished receivers, the response's close, and the chain
    assert len(chain) == 1, hops
    assert len(hops) <= 4, hops


def test_requests_reuse_their_threads_and_each_request_stays_in_one(settings):
    """A request's signals, chain and close run in one thread (its connections close where
    they were opened); the next request borrows that thread instead of starting its own."""
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    import threading

    from django.core import signals

    from safari_auto.asgi import application

    seen = []

    def started(**kwargs):
        seen.append(("started", threading.get_ident()))

    def finished(**kwargs):
        seen.append(("finished", threading.get_ident()))

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:

        async def two():
            return [await get(application, "/health"), await get(application, "/health")]

        assert asyncio.run(two()) == [200, 200]
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    assert [kind for kind, _ in seen] == ["started", "finished"] * 2
    threads = {ident for _, ident in seen}
    assert len(threads) == 1, seen
    assert threads != {threading.get_ident()}  # not the event loop's thread
