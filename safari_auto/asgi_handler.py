"""Django's ASGI handler with the whole middleware chain and the view in one thread.

Django's own `ASGIHandler` builds the chain in async mode: every middleware that can run
async does, so each `MiddlewareMixin` (sessions, CSRF, auth, messages, security…) hops to a
thread and back for its `process_request` and again for its `process_response`, and a
sync-only one (whitenoise, the request guard) hops the other way. That was about fifteen
thread hops per API request, most of the web process's CPU for a small answer.

Every view here is sync, so this handler loads the chain in sync mode and runs it, view
included, with one `sync_to_async` hop: the request's own thread (thread-sensitive, one per
request under ASGI, so the request's database connection closes with it as before).
Websockets do not pass through here (channels routes them).

The request signals and the response's `close` ride in that same hop, as a WSGI server runs
them: `request_started`, the chain, then `close` (so `request_finished`) before the answer is
sent, since its body is already in memory. A streaming answer (a video, a static file) is
closed after it is sent, in the same thread. Django's handler also ran the view beside a
listener for the client's disconnect, to cancel it; a sync view in a thread cannot be
cancelled, so that listener is not started (Django did not have it before 5.0).

The request's own thread is no longer started for it and joined after it, as asgiref's
`ThreadSensitiveContext` does: each request borrows a one-thread executor from a small
free-list and gives it back when it is done. Its thread-sensitive calls (the request
signals, the chain, the response's `close`) still all run in that one thread, one request
at a time, so the connections a request opens are closed by its `request_finished` there.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix

# Executors kept for reuse; more requests at once than this start (and end) threads of their own.
IDLE_THREADS = 32


class OneHopASGIHandler(ASGIHandler):
    def __init__(self) -> None:  # not ASGIHandler's: it would load the chain async first
        self.load_middleware(is_async=False)
        self._idle: list[ThreadPoolExecutor] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = self._idle.pop() if self._idle else self._new_executor()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            if len(self._idle) < IDLE_THREADS:
                self._idle.append(executor)
            else:
                executor.shutdown(wait=False)

    @staticmethod
    def _new_executor() -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")

    async def handle(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            respond = sync_to_async(self._respond, thread_sensitive=True)
            response = await respond(scope, body_file)
            try:
                await self.send_response(response, send)
            except asyncio.CancelledError:
                pass  # the client left while we answered, as Django ignores it
            finally:
                if response.streaming:
                    await sync_to_async(response.close, thread_sensitive=True)()
        finally:
            body_file.close()

    def _respond(self, scope: Any, body_file: IO[bytes]) -> HttpResponseBase:
        """In the request's thread: the request signals, the chain and the view."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        response = self.get_response(request) if request is not None else error_response
        assert response is not None  # noqa: S101 - create_request gives one or the other
        response._handler_class = self.__class__  # type: ignore[attr-defined]
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        if not response.streaming:
            response.close()  # request_finished: its connections close in this thread
        return response
