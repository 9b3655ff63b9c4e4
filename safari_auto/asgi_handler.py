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

The request's own thread is no longer started for it and joined after it, as asgiref's
`ThreadSensitiveContext` does: each request borrows a one-thread executor from a small
free-list and gives it back when it is done. Its thread-sensitive calls (the request
signals, the chain, the response's `close`) still all run in that one thread, one request
at a time, so the connections a request opens are closed by its `request_finished` there.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase

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

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        # `get_response` sets the urlconf, runs the chain and logs 4xx/5xx, as the async one.
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
