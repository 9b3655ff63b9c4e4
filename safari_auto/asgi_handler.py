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
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.http import HttpRequest, HttpResponseBase


class OneHopASGIHandler(ASGIHandler):
    def __init__(self) -> None:  # not ASGIHandler's: it would load the chain async first
        self.load_middleware(is_async=False)

    async def get_response_async(self, request: HttpRequest) -> HttpResponseBase:
        # `get_response` sets the urlconf, runs the chain and logs 4xx/5xx, as the async one.
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
