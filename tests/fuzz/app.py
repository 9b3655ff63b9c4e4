"""The Django app as a WSGI callable for the fuzzer, in the test's own database transaction.

Like Django's test client, it keeps `close_old_connections` off while a request runs, so the
request shares the test's connection (and its SQLite in-memory database or Postgres
transaction), and it answers with the whole body read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections


class InProcessApp(WSGIHandler):
    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            response = super().__call__(environ, start_response)
            body = b"".join(response)
            response.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return [body]
