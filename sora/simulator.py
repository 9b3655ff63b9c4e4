"""A stateful simulator of the Sora service (CONTRACTS.md "Sora service").

Served by the simulators' shared HTTP server (`safari_auto.simserver`). Times (generation,
refresh interval) are real durations divided by `time_scale` (SIM_TIME_SCALE, a speed-up like
the DM simulators': 10 runs ten times faster), so tests and demos run fast.

Profiles. `real` (the default) behaves as the real service was measured to (CONTRACTS.md "How
the real services behave", Sora): the payload's `character` is ignored; `duration` must be a
string like "10s" (anything else makes the command FAIL later); `/ready` is 503 until a first
command has run; usage answers -1 with an `error` before the first command and never carries
`free`, `paid` or `refreshes_at`; there is no cap of 3 and never a 429 (a generation without
credits or budget FAILS); commands start at once, so DELETE answers 200 `{cancelled:false}`.
`kind` keeps the friendlier service: free/paid/refresh time in usage, 429 at 3 generations or
without credits, and a PENDING phase that can be cancelled.

Faults and state: POST /_sim/faults with any of
  {"fail_next": N, "crash_after_202": N, "no_tab": bool, "set_credits": {"free", "paid"},
   "force_refresh": true, "refreshes_at": ISO, "generation_seconds": s, "daily_limit": N,
   "reject_next": N, "profile": "real"|"kind", "forget_commands": true}
`forget_commands` is the service restarting: it keeps its credits but loses every command it
knew (GET /v1/commands/<id> answers 404, the list is empty). GET /_sim/state, POST /_sim/reset.
"""

from __future__ import annotations

import itertools
import re
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings

from safari_auto.simserver import DROP, JsonServer, Reply, Request

SORA_PORT = 7070
DAY_SECONDS = 24 * 3600.0


@dataclass
class SimCommand:
    id: str
    payload: dict[str, Any]
    created_at: datetime
    duration: float
    fail: bool = False
    cancelled: bool = False
    video_path: str = ""
    file_size: int = 0
    error: str = "generation failed (simulated)"
    starts_at_once: bool = False

    def status(self, now: datetime) -> str:
        if self.cancelled:
            return "CANCELLED"
        age = (now - self.created_at).total_seconds()
        if age >= self.duration:
            return "FAILED" if self.fail else "SUCCEEDED"
        return "PENDING" if age < self.duration * 0.1 and not self.starts_at_once else "RUNNING"


def _video_dir() -> Path:
    """A fresh folder inside SORA_VIDEO_DIR, the only place videos are served from."""
    root = Path(settings.SORA_VIDEO_DIR)
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix="sora-sim-", dir=root))


@dataclass
class SoraState:
    """Everything the simulator remembers; all access under `lock`."""

    time_scale: float = 1.0
    free_allowance: int = 5
    free: int = 5
    paid: int = 0
    daily_limit: int = 30
    generated_today: int = 0
    generation_seconds: float = 600.0
    refresh_seconds: float = DAY_SECONDS
    refreshes_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    no_tab: bool = False
    fail_next: int = 0
    crash_after_202: int = 0
    reject_next: int = 0
    commands: dict[str, SimCommand] = field(default_factory=dict)
    posts: int = 0
    video_dir: Path = field(default_factory=lambda: _video_dir())
    lock: threading.RLock = field(default_factory=threading.RLock)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    profile: str = "real"

    @property
    def real(self) -> bool:
        return self.profile == "real"

    def __post_init__(self) -> None:
        self.refreshes_at = self.clock() + self.scaled(self.refresh_seconds)

    def scaled(self, seconds: float) -> timedelta:
        return timedelta(seconds=seconds / (self.time_scale or 1.0))

    def tick(self) -> datetime:
        """Advance what time has done: refreshes that are due, videos that finished."""
        now = self.clock()
        while now >= self.refreshes_at:
            self.refresh()
            self.refreshes_at = max(self.refreshes_at, now - self.scaled(self.refresh_seconds))
            self.refreshes_at += self.scaled(self.refresh_seconds)
        for cmd in self.commands.values():
            if cmd.status(now) == "SUCCEEDED" and not cmd.video_path:
                path = self.video_dir / f"{cmd.id}.mp4"
                data = b"\x00\x00\x00\x18ftypmp42" + ("sora-sim " + cmd.id + "\n").encode() * 8
                path.write_bytes(data)
                cmd.video_path, cmd.file_size = str(path), len(data)
        return now

    def refresh(self) -> None:
        self.free = max(self.free, self.free_allowance)
        self.generated_today = 0

    def generating(self, now: datetime) -> int:
        return sum(1 for c in self.commands.values() if c.status(now) in ("PENDING", "RUNNING"))

    def usage(self) -> dict[str, Any]:
        unknown = {"videos_generated_today": -1, "daily_limit": -1, "remaining": -1}
        if self.no_tab:
            return {**unknown, "plan": "unknown"}
        if self.real and not self.commands:
            return {**unknown, "plan": "unknown", "error": "No usage data until a command runs"}
        if self.real:
            return {
                "videos_generated_today": self.generated_today,
                "daily_limit": self.daily_limit,
                "remaining": self.free + self.paid,
                "plan": "plus",
            }
        return {
            "videos_generated_today": self.generated_today,
            "daily_limit": self.daily_limit,
            "remaining": self.free + self.paid,
            "plan": "plus",
            "free": self.free,
            "paid": self.paid,
            "refreshes_at": self.refreshes_at.isoformat(),
        }

    def create(self, payload: dict[str, Any], now: datetime) -> tuple[int, dict[str, Any]]:
        if self.no_tab:
            return 503, {"error": "no Sora tab open"}
        if self.reject_next > 0:
            self.reject_next -= 1
            return 400, {"error": "rejected on demand"}
        if not str(payload.get("prompt") or "").strip():
            return 400, {"error": "payload.prompt is required"}
        refusal = self.refusal(now)
        if refusal is not None and not self.real:
            return 429, refusal
        failure = refusal["error"] if refusal else self.payload_problem(payload)
        if failure is None:
            self.spend()
        cmd = SimCommand(
            id=f"cmd_{next(_ids)}",
            payload=payload,
            created_at=now,
            duration=self.generation_seconds / (self.time_scale or 1.0),
            fail=self.fail_next > 0 or failure is not None,
            starts_at_once=self.real,
        )
        if failure is not None:
            cmd.error, cmd.duration = failure, min(cmd.duration, 1.0)
        self.fail_next = max(self.fail_next - 1, 0)
        self.commands[cmd.id] = cmd
        return 202, {"command_id": cmd.id, "status": "PENDING", "createdAt": now.isoformat()}

    def refusal(self, now: datetime) -> dict[str, Any] | None:
        """Why Sora will not make one more video now (the kind profile answers it with 429;
        the real service has no such check and its command fails later)."""
        if self.generating(now) >= 3 and not self.real:
            return {"error": "at most 3 generations at once"}
        if self.generated_today >= self.daily_limit:
            return {"error": "daily budget reached"}
        if self.free + self.paid <= 0:
            return {"error": "no credits left", "refreshes_at": self.refreshes_at.isoformat()}
        return None

    def payload_problem(self, payload: dict[str, Any]) -> str | None:
        """The real service takes `duration` as a string like "10s"; anything else fails."""
        duration = payload.get("duration")
        if not self.real or duration is None:
            return None
        if isinstance(duration, str) and _DURATION.match(duration):
            return None
        return f"invalid duration {duration!r}: expected a string like '10s'"

    def spend(self) -> None:
        if self.free > 0:
            self.free -= 1
        else:
            self.paid -= 1
        self.generated_today += 1
        self.posts += 1

    def describe(self, cmd: SimCommand, now: datetime) -> dict[str, Any]:
        status = cmd.status(now)
        return {
            "id": cmd.id,
            "type": "sora.generate",
            "payload": cmd.payload,
            "status": status,
            "createdAt": cmd.created_at.isoformat(),
            "result": {"video_path": cmd.video_path, "file_size": cmd.file_size}
            if status == "SUCCEEDED"
            else None,
            "error": cmd.error if status == "FAILED" else None,
        }

    def apply_faults(self, body: dict[str, Any]) -> None:
        for name in ("fail_next", "crash_after_202", "reject_next", "daily_limit"):
            if name in body:
                setattr(self, name, int(body[name]))
        if "no_tab" in body:
            self.no_tab = bool(body["no_tab"])
        if body.get("profile") in ("real", "kind"):
            self.profile = str(body["profile"])
        if "generation_seconds" in body:
            self.generation_seconds = float(body["generation_seconds"])
        credits = body.get("set_credits") or {}
        if "free" in credits:
            self.free = int(credits["free"])
        if "paid" in credits:
            self.paid = int(credits["paid"])
        if body.get("refreshes_at"):
            self.refreshes_at = datetime.fromisoformat(str(body["refreshes_at"]))
        if body.get("force_refresh"):
            self.refresh()
            self.refreshes_at = self.clock() + self.scaled(self.refresh_seconds)
        if body.get("forget_commands"):
            self.commands.clear()

    def snapshot(self, now: datetime) -> dict[str, Any]:
        return {
            **self.usage(),
            "no_tab": self.no_tab,
            "free": self.free,
            "paid": self.paid,
            "free_allowance": self.free_allowance,
            "generating": self.generating(now),
            "posts": self.posts,
            "fail_next": self.fail_next,
            "crash_after_202": self.crash_after_202,
            "time_scale": self.time_scale,
            "profile": self.profile,
            "commands": [self.describe(c, now) for c in self.commands.values()],
        }


_ids = itertools.count(1)
_DURATION = re.compile(r"^\d+s$")
_COMMAND = re.compile(r"^/v1/commands/([\w-]+)$")


def _send(status: int, body: Any) -> Reply:
    return Reply(status, body)


def _answer(server: SoraSimulator, request: Request) -> Reply:
    """One request, under the state's lock (a reset swaps the state for the next one)."""
    state = server.state
    with state.lock:
        now = state.tick()
        if request.method == "GET":
            return _get(state, request.path, now)
        if request.method == "POST":
            body = request.body if isinstance(request.body, dict) else {}
            return _post(server, state, request.path, body, now)
        return _delete(state, request.path, now)


def _get(state: SoraState, path: str, now: datetime) -> Reply:
    if path == "/ready":
        if state.no_tab:
            return _send(503, {"ready": False, "reason": "no Sora tab open"})
        if state.real and not state.commands:
            return _send(503, {"ready": False, "reason": "no command has run yet"})
        return _send(200, {"ready": True})
    if path == "/v1/sora/usage":
        return _send(200, state.usage())
    if path == "/v1/commands":
        newest = sorted(state.commands.values(), key=lambda c: c.created_at, reverse=True)[:50]
        return _send(200, {"commands": [state.describe(c, now) for c in newest]})
    if path == "/_sim/state":
        return _send(200, state.snapshot(now))
    match = _COMMAND.match(path)
    if match and match.group(1) in state.commands:
        return _send(200, state.describe(state.commands[match.group(1)], now))
    return _send(404, {"error": f"not found: {path}"})


def _post(
    server: SoraSimulator, state: SoraState, path: str, body: dict[str, Any], now: datetime
) -> Reply:
    if path == "/v1/commands":
        if body.get("type") != "sora.generate":
            return _send(400, {"error": "type must be sora.generate"})
        status, answer = state.create(body.get("payload") or {}, now)
        if status == 202 and state.crash_after_202 > 0:
            state.crash_after_202 -= 1
            return DROP  # crash after the command exists: the socket closes without an answer
        return _send(status, answer)
    if path == "/_sim/faults":
        state.apply_faults(body)
        return _send(200, state.snapshot(now))
    if path == "/_sim/reset":
        server.reset(**body)
        return _send(200, {"reset": True})
    return _send(404, {"error": f"not found: {path}"})


def _delete(state: SoraState, path: str, now: datetime) -> Reply:
    match = _COMMAND.match(path)
    cmd = state.commands.get(match.group(1)) if match else None
    if cmd is None:
        return _send(404, {"error": "unknown command"})
    if state.real:
        return _send(200, {"cancelled": False})  # it started at once
    if cmd.status(now) != "PENDING":
        return _send(409, {"cancelled": False, "error": "only PENDING cancels"})
    cmd.cancelled = True
    state.free += 1
    state.generated_today = max(state.generated_today - 1, 0)
    return _send(200, {"cancelled": True})


_OPTIONS = {
    "time_scale",
    "free_allowance",
    "free",
    "paid",
    "daily_limit",
    "generation_seconds",
    "refresh_seconds",
    "profile",
}


class SoraSimulator(JsonServer):
    """The Sora service on `host:port` (0 picks a free port). `.start()`, `.stop()`."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = SORA_PORT + 1000, **options: Any
    ) -> None:
        super().__init__(
            lambda request: _answer(self, request),
            name="sora",
            host=host,
            port=port,
            keep_alive=True,
        )
        self.state = SoraState(**options)
        self.defaults: dict[str, Any] = dict(options)

    def reset(self, **overrides: Any) -> None:
        options = {**self.defaults, **{k: v for k, v in overrides.items() if k in _OPTIONS}}
        self.state = SoraState(**options)


def build_servers(
    host: str = "127.0.0.1",
    port_offset: int = 1000,
    time_scale: float | None = None,
    profile: str | None = None,
) -> list[SoraSimulator]:
    """The simulators this app serves: the Sora service on 7070 + offset (8070 in demo), in
    `profile` ("real" or "kind"; by default SIM_PROFILE's, else "real")."""
    from django.conf import settings

    if time_scale is None:
        time_scale = float(getattr(settings, "SIM_TIME_SCALE", 1.0))
    if profile is None:
        profile = str(getattr(settings, "SIM_PROFILE", "") or "real")
    return [SoraSimulator(host, SORA_PORT + port_offset, time_scale=time_scale, profile=profile)]


# --- the demo scenario (`manage.py simulate --demo`) --------------------------------------
DEMO_REFRESH_SECONDS = 180.0  # no credits now; they come back three minutes after start
DEMO_GENERATION_SECONDS = 30.0  # a demo video generates in half a minute


def build_demo_servers(
    host: str = "127.0.0.1", port_offset: int = 1000, time_scale: float | None = None
) -> list[SoraSimulator]:
    """The Sora service as the demo wants it: out of credits, with a refresh a few minutes
    out (the dashboard counts down, a queued trilogy waits), then five free credits."""
    servers = build_servers(
        host=host, port_offset=port_offset, time_scale=time_scale, profile="kind"
    )
    for server in servers:
        demo_credits(server.state)
    return servers


def demo_credits(state: SoraState) -> None:
    with state.lock:
        state.free = state.paid = 0
        state.generation_seconds = DEMO_GENERATION_SECONDS * (state.time_scale or 1.0)
        state.refreshes_at = state.clock() + timedelta(seconds=DEMO_REFRESH_SECONDS)
