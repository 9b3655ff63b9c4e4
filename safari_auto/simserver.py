"""The HTTP server every simulator runs in: stdlib `ThreadingHTTPServer` in a thread.

It only parses requests into a `Request` and writes a `Reply` as JSON; what to answer is the
simulator's job (one `handle(request) -> Reply` callable). A reply of `DROP` closes the socket
without answering, which is how a service that crashed after doing the work looks from the
client's side. Used by the DM/comment simulators (`dm/simulator/server.py`) and the Sora
simulator (`sora/simulator.py`).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any  # the parsed JSON, or None when there was none or it did not parse
    headers: dict[str, str]


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


DROP = Reply(status=0, body=None)
Handle = Callable[[Request], Reply]


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.0: one request per connection, so a dropped answer never poisons a pool."""

    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the simulators run inside tests and the demo."""

    def _serve(self) -> None:
        reply = self.server.answer(self._request())
        if reply is DROP:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        payload = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _request(self) -> Request:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        headers = {key.lower(): value for key, value in self.headers.items()}
        return Request(self.command, parts.path, query, body, headers)


class _KeepAliveHandler(_Handler):
    """HTTP/1.1: connections stay open between requests, as a real service's do."""

    protocol_version = "HTTP/1.1"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    answer: Handle


class JsonServer:
    """`handle` served on host:port (port 0 picks a free one at start); `start`, `stop`,
    `outage`. The socket is bound in `start`, so a port in use is an OSError there."""

    def __init__(
        self,
        handle: Handle,
        *,
        name: str,
        host: str = "127.0.0.1",
        port: int = 0,
        keep_alive: bool = False,
    ) -> None:
        self.handle = handle
        self.name = name
        self.host = host
        self.port = port
        self._handler = _KeepAliveHandler if keep_alive else _Handler
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None
        self._retired = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        httpd = _Server((self.host, self.port), self._handler)
        httpd.answer = self.handle
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sim-{self.name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def outage(self, seconds: float) -> None:
        """Stop listening for `seconds` (connections are refused), then listen again."""

        def down_then_up() -> None:
            self._halt()
            time.sleep(seconds)
            if not self._retired:
                self.start()

        threading.Thread(target=down_then_up, name=f"sim-{self.name}-down", daemon=True).start()

    def stop(self) -> None:
        self._retired = True
        self._halt()

    def _halt(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None
        self._thread = None
