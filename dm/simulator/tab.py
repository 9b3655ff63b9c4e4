"""The `real` profile's Safari tab: one tab per service, driven by one call at a time.

CONTRACTS.md, "How the real services behave": a send keeps driving the service's Safari tab
until its answer is written (TikTok about 35 s, Instagram about 19 s, X about 10 s, divided
by the duration scale). Meanwhile

- a second send is refused by TikTok (429 `in_flight`) and waits for the tab elsewhere (the
  real ones type into whichever conversation is open: counted as an overlap);
- a read (open a conversation, read messages) is not guarded: it interleaves with the send and
  sees the thread the send is typing into, as it is at that moment (the wrong or a partial
  thread);
- status waits for the tab, so an answered status call means the tab is idle.

Every call that reaches a busy tab is recorded in `overlaps` (`GET /_sim/tab`): a client that
keeps one call at a time per service leaves it empty. The `kind` profile skips all of this.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod

from .server import DROP, Reply, Request
from .service import Route, SimService

# Share of a send's duration spent before the message is out (typing, clicking send); the
# rest is the service's own checks before it answers.
DELIVERED_AT = 0.8


class TabSimService(SimService, ABC):
    """A simulated service with one Safari tab; subclasses provide the hooks at the end."""

    send_seconds = 10.0  # a send's duration at duration scale 1 (an instant Safari)

    @abstractmethod
    def tab_kind(self, request: Request) -> str | None:
        """What the call does with the tab: send, read, status, or None (not the tab)."""

    def dispatch(self, request: Request, route: Route) -> Reply:
        if self.profile != "real":
            return super().dispatch(request, route)
        kind = self.tab_kind(request)
        if kind == "status":
            self.tab.acquire()  # wait until no send drives the tab, then answer
            self.tab.release()
            return super().dispatch(request, route)
        if kind == "read":
            return self._read(request, route)
        if kind == "send":
            return self._send(request)
        return super().dispatch(request, route)

    def _overlap(self, request: Request) -> None:
        with self.lock:
            self.overlaps.append(
                {"method": request.method, "path": request.path, "during": self.typing_to or ""}
            )

    def _read(self, request: Request, route: Route) -> Reply:
        if not self.tab.locked():  # only a send holds the tab
            return super().dispatch(request, route)
        self._overlap(request)
        with self.lock:
            return self.interleaved_read(request, route)

    def _send(self, request: Request) -> Reply:
        tab = self.tab
        if not tab.acquire(blocking=False):
            self._overlap(request)
            busy = self.busy_send_reply()
            if busy is not None:
                return busy
            tab.acquire()
        try:
            return self._drive_send(request)
        finally:
            self.typing_to = None
            tab.release()

    def _drive_send(self, request: Request) -> Reply:
        lock = self.lock
        with lock:
            self.inbox.flush(self.now())
            target = self.send_target(request)
            if isinstance(target, Reply):
                return target
            self.typing_to = target[0]
        duration = self.send_seconds / self.duration_scale
        time.sleep(duration * DELIVERED_AT)
        with lock:
            reply = self.finish_send(*target)
        if reply is not DROP:
            time.sleep(duration * (1 - DELIVERED_AT))
        return reply

    # --- hooks the DM simulator provides ------------------------------------------------
    typing_to: str | None = None  # whose conversation the running send is typing into

    @abstractmethod
    def send_target(self, request: Request) -> tuple[str, str] | Reply:
        """(username, text) of a send, or the refusal to answer instead."""

    @abstractmethod
    def finish_send(self, username: str, text: str) -> Reply:
        """Deliver a send whose typing is over, and answer it."""

    def busy_send_reply(self) -> Reply | None:
        """The answer to a send that finds the tab busy; None waits for the tab."""
        return None

    @abstractmethod
    def interleaved_read(self, request: Request, route: Route) -> Reply:
        """A read while a send drives the tab: what the real service shows then."""
