"""The part every simulated service shares: routing, `/_sim/*`, faults, limits, deliveries.

A subclass declares its routes and formats its answers in its own service's words; the base
decides *whether* a send goes through (injected faults, session state, rolling caps) and
records it when it does, so `/_sim/sent` is the truth a test counts duplicates against.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings

from .faults import FaultError, Faults
from .server import Reply, Request
from .state import FRIENDLY_REPLIES, Delivery, Inbox, RollingCounter

Route = Callable[[Request], Reply]


def ok(body: Any) -> Reply:
    return Reply(200, body)


# `GET /_sim/requests` shows the last this many calls (a soak makes tens of thousands).
REQUESTS_KEPT = 5_000


def error(status: int, message: str, **extra: Any) -> Reply:
    return Reply(status, {"success": False, "error": message, **extra})


class SimService:
    """State and behaviour of one simulated service (its HTTP server is a `SimServer`)."""

    key = ""  # the settings key: "instagram_dm", "threads_comments", ...
    platform = ""
    default_port = 0  # the real service's port (CONTRACTS.md); demo adds the offset
    hourly_limit = 10
    daily_limit = 30
    # How a send refused for a session problem is answered: X and Instagram say 200 + false.
    session_refusal_status = 503

    def __init__(
        self,
        *,
        time_scale: float | None = None,
        reply_probability: float = 0.0,
        reply_delay_seconds: float = 90.0,
        seed: bool = False,
        rng: random.Random | None = None,
        profile: str = "real",
        duration_scale: float | None = None,
    ) -> None:
        self.profile = profile
        self.scale = time_scale or float(getattr(settings, "SIM_TIME_SCALE", 1.0)) or 1.0
        # How much faster than the real services a send runs (SIM_DURATION_SCALE, by default
        # the time scale); settable per run through /_sim/config {"duration_scale"}.
        self.duration_scale = (
            duration_scale or float(getattr(settings, "SIM_DURATION_SCALE", 0) or 0) or self.scale
        )
        # The service's one Safari tab: a send holds it from its first step to its answer.
        self.tab = threading.Lock()
        self.rng = rng or random.Random()
        self.seeded = seed
        self._defaults = (reply_probability, reply_delay_seconds)
        self.lock = threading.RLock()
        self.reset()
        self.journal = self._journal_replay()

    # --- state ----------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to the state at construction: empty, or the demo seed when built with one."""
        with self.lock:
            self.faults = Faults()
            self.inbox = Inbox()
            self.delivered: list[Delivery] = []
            self.requests: deque[Request] = deque(maxlen=REQUESTS_KEPT)
            # Calls that reached the tab while a send was driving it (the real services
            # interleave them): a client that keeps one call at a time leaves this empty.
            self.overlaps: list[dict[str, str]] = []
            self.counter = RollingCounter(
                hourly=self.hourly_limit, daily=self.daily_limit, scale=self.scale
            )
            self.reply_probability, self.reply_delay_seconds = self._defaults
            if self.seeded:
                self.seed()

    # --- the journal: deliveries outlive a killed service process --------------------------
    def _journal_replay(self) -> Path | None:
        """A killed and restarted service still shows what it delivered (the platform keeps
        the messages; only the service process died): with SIM_JOURNAL_DIR set, each delivery
        is appended to `<SIM_JOURNAL_DIR>/<key>.jsonl` before it is answered, replayed here
        at construction, and emptied by `POST /_sim/reset`."""
        folder = str(getattr(settings, "SIM_JOURNAL_DIR", "") or "")
        if not folder or not self.key:
            return None
        journal = Path(folder) / f"{self.key}.jsonl"
        journal.parent.mkdir(parents=True, exist_ok=True)
        lines = journal.read_text().splitlines() if journal.exists() else []
        for line in lines:
            row = json.loads(line)
            self._record(
                Delivery(
                    row["platform"], row["username"], row["text"],
                    datetime.fromisoformat(row["time"]), row.get("post_url"),
                )
            )  # fmt: skip
        return journal

    def _record(self, delivery: Delivery) -> None:
        self.delivered.append(delivery)
        self.counter.add(delivery.time)
        if delivery.post_url is None:
            self.inbox.add(delivery.username, delivery.text, outbound=True, now=delivery.time)

    def seed(self) -> None:
        """Demo data; the DM services override it with a few conversations."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    # --- dispatch -------------------------------------------------------------------------
    def routes(self) -> dict[tuple[str, str], Route]:
        return {("GET", "/health"): self.health}

    def health(self, request: Request) -> Reply:
        return ok({"status": "ok", "service": self.key.replace("_", "-"), "port": 0})

    def handle(self, request: Request) -> Reply:
        if request.path.startswith("/_sim/"):
            return self._sim(request)
        with self.lock:
            self.requests.append(request)
        denied = self.authorize(request)
        if denied is not None:
            return denied
        if self.faults.latency_ms:
            time.sleep(self.faults.latency_ms / 1000)
        route = self.routes().get((request.method, request.path))
        if route is None:
            return Reply(404, {"error": f"Not found: {request.method} {request.path}"})
        return self.dispatch(request, route)

    def dispatch(self, request: Request, route: Route) -> Reply:
        """Answer one call of the service's own routes, holding the state lock throughout.
        A profile with a busy Safari tab overrides this for the routes that drive the tab."""
        with self.lock:
            self.inbox.flush(self.now())
            if self.faults.scope == "all" and request.path.startswith("/api/"):
                refused = self._injected_refusal()
                if refused is not None:
                    return refused
            return route(request)

    def authorize(self, request: Request) -> Reply | None:
        return None

    # --- sends ----------------------------------------------------------------------------
    def send_gate(self) -> Reply | None:
        """The answer that refuses a send before anything is delivered, or None to go on."""
        refused = self._injected_refusal()
        if refused is not None:
            return refused
        problem = self.faults.session_problem()
        if problem is not None:
            return self.session_refusal(problem)
        over = self.counter.refusal(self.now())
        if over is not None:
            reason, seconds = over
            return self.limited(f"Rate limit: {reason}", round(seconds, 3))
        return None

    def _injected_refusal(self) -> Reply | None:
        if self.faults.take("status_503", self.rng):
            return error(503, "No Safari tab with a logged-in session (simulated)")
        if self.faults.take("status_429", self.rng):
            return self.limited("Rate limit reached (simulated)", self.faults.retry_after_s)
        return None

    def limited(self, message: str, retry_after: float | None) -> Reply:
        if retry_after is None:
            return error(429, message, rateLimited=True)
        return Reply(
            429,
            {"success": False, "error": message, "rateLimited": True, "retryAfter": retry_after},
            {"Retry-After": str(max(1, round(retry_after)))},
        )

    def session_refusal(self, problem: str) -> Reply:
        message = {
            "logged_out": f"Not logged in to {self.platform}",
            "captcha": "CAPTCHA challenge on screen: a human must solve it",
            "suspended": "Your account has been suspended",
        }[problem]
        return error(self.session_refusal_status, message)

    def deliver(
        self, username: str, text: str, *, post_url: str | None = None
    ) -> tuple[bool, bool]:
        """Record a delivery; returns (verified, crash) as the injected faults decide."""
        now = self.now()
        delivery = Delivery(self.platform, username, text, now, post_url)
        if self.journal is not None:
            with self.journal.open("a") as journal:  # written through: a SIGKILL keeps it
                journal.write(json.dumps({**delivery.as_dict(), "time": now.isoformat()}) + "\n")
        self._record(delivery)
        if post_url is None and self.rng.random() < self.reply_probability:
            delay = timedelta(seconds=self.reply_delay_seconds / self.scale)
            self.inbox.schedule_reply(username, self.rng.choice(FRIENDLY_REPLIES), now + delay)
        verified = not self.faults.take("unverified", self.rng)
        return verified, self.faults.take("crash_after_delivery", self.rng)

    def counts(self) -> tuple[int, int]:
        now = self.now()
        return self.counter.count(3600, now), self.counter.count(86400, now)

    # --- /_sim ----------------------------------------------------------------------------
    def _sim(self, request: Request) -> Reply:
        with self.lock:
            if (request.method, request.path) == ("GET", "/_sim/sent"):
                return ok([d.as_dict() for d in self.delivered])
            if (request.method, request.path) == ("GET", "/_sim/requests"):
                return ok([self._seen(r) for r in self.requests])
            if (request.method, request.path) == ("GET", "/_sim/tab"):
                return ok({"busy": self.tab.locked(), "overlaps": list(self.overlaps)})
            if (request.method, request.path) == ("GET", "/_sim/faults"):
                return ok(self.faults.as_dict())
            if (request.method, request.path) == ("POST", "/_sim/faults"):
                try:
                    self.faults.update(request.body if request.body is not None else {})
                except FaultError as exc:
                    return Reply(400, {"error": str(exc)})
                return ok(self.faults.as_dict())
            if (request.method, request.path) == ("POST", "/_sim/config"):
                return self._configure(request.body)
            if (request.method, request.path) == ("POST", "/_sim/reset"):
                self.reset()
                if self.journal is not None:
                    self.journal.write_text("")
                return ok({"reset": True})
        return Reply(404, {"error": f"Not found: {request.method} {request.path}"})

    @staticmethod
    def _seen(request: Request) -> dict[str, Any]:
        return {
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "json": request.body,
            "authorization": request.headers.get("authorization"),
        }

    def _configure(self, body: Any) -> Reply:
        """Small limits and reply odds for tests and the e2e runs; see the package docstring."""
        if not isinstance(body, dict):
            return Reply(400, {"error": "config must be a JSON object"})
        if "hourly_limit" in body:
            self.counter.hourly = int(body["hourly_limit"])
        if "daily_limit" in body:
            self.counter.daily = int(body["daily_limit"])
        if "reply_probability" in body:
            self.reply_probability = float(body["reply_probability"])
        if "reply_delay_seconds" in body:
            self.reply_delay_seconds = float(body["reply_delay_seconds"])
        if "duration_scale" in body:
            self.duration_scale = float(body["duration_scale"]) or self.duration_scale
        return ok(
            {
                "hourly_limit": self.counter.hourly,
                "daily_limit": self.counter.daily,
                "reply_probability": self.reply_probability,
                "reply_delay_seconds": self.reply_delay_seconds,
                "duration_scale": self.duration_scale,
                "profile": self.profile,
            }
        )
