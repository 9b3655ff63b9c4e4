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
    # request_started's receivers, the chain and view, and the response's close (so
    # request_finished's receivers): one hop for them all
    assert hops == ["OneHopASGIHandler._respond"]


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


def streamed(request):
    from django.http import FileResponse

    return FileResponse(open(request.GET["path"], "rb"))


urlpatterns = [__import__("django.urls").urls.path("streamed", streamed)]


def test_a_streamed_answer_is_sent_whole_and_closed_after_it_is_sent(settings, tmp_path):
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    settings.ROOT_URLCONF = __name__
    from django.core import signals

    from safari_auto.asgi import application

    video = tmp_path / "video.mp4"
    video.write_bytes(b"x" * 200_000)
    order = []
    signals.request_finished.connect(finished := lambda **kwargs: order.append("finished"))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "path": "/streamed", "raw_path": b"/streamed",
        "query_string": f"path={video}".encode(), "root_path": "", "scheme": "http",
        "headers": [(b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 3010),
    }  # fmt: skip
    body = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if body:
            return body.pop()
        await asyncio.sleep(3600)

    async def send(message):
        order.append(message["type"])
        sent.append(message)

    sent = []
    try:
        asyncio.run(application(scope, receive, send))
    finally:
        signals.request_finished.disconnect(finished)
    assert sent[0]["status"] == 200
    assert b"".join(m.get("body", b"") for m in sent[1:]) == video.read_bytes()
    assert order[-1] == "finished"  # closed (file and connections) once the body was sent
