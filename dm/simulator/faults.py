"""The faults a test (or a curious user) injects through `POST /_sim/faults`.

See the package docstring for the schema. A *trigger* is either a count (an int: the next N
matching calls) or a probability (a float in (0, 1]: each matching call independently).
`take` consumes one count, which is why it is called under the service's lock.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

TRIGGERS = (
    "status_429",
    "status_503",
    "crash_after_delivery",
    "unverified",
    "challenge",
    "double_send",
    "status_504",
)
FLAGS = ("logged_out", "captcha", "suspended")
SCOPES = ("send", "all")


class FaultError(ValueError):
    """A malformed faults document; the simulator answers it with 400."""


@dataclass
class Faults:
    latency_ms: int = 0
    status_429: float = 0
    status_503: float = 0
    crash_after_delivery: float = 0
    unverified: float = 0
    challenge: float = 0
    double_send: float = 0
    status_504: float = 0
    logged_out: bool = False
    captcha: bool = False
    suspended: bool = False
    scope: str = "send"
    retry_after_s: float | None = 60.0

    def update(self, document: Any) -> None:
        """Merge a faults document; unknown keys and bad values are refused, not ignored."""
        if not isinstance(document, dict):
            raise FaultError("faults must be a JSON object")
        unknown = set(document) - {*TRIGGERS, *FLAGS, "latency_ms", "scope", "retry_after_s"}
        if unknown:
            raise FaultError(f"unknown fault(s): {', '.join(sorted(unknown))}")
        for key, value in document.items():
            setattr(self, key, _checked(key, value))

    def take(self, trigger: str, rng: random.Random) -> bool:
        """Whether this call is hit by `trigger`; a count is used up one call at a time."""
        value = getattr(self, trigger)
        if isinstance(value, int) and not isinstance(value, bool):
            if value > 0:
                setattr(self, trigger, value - 1)
                return True
            return False
        return bool(rng.random() < value)

    def session_problem(self) -> str | None:
        """The session fault in force, if any: what a human would see in Safari."""
        for flag in FLAGS:
            if getattr(self, flag):
                return flag
        return None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _checked(key: str, value: Any) -> Any:
    if key in FLAGS:
        if not isinstance(value, bool):
            raise FaultError(f"{key} must be true or false")
        return value
    if key == "scope":
        if value not in SCOPES:
            raise FaultError(f"scope must be one of {', '.join(SCOPES)}")
        return value
    if key == "retry_after_s":
        if value is not None and (not isinstance(value, int | float) or value < 0):
            raise FaultError("retry_after_s must be a number of seconds or null")
        return value
    if key == "latency_ms":
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise FaultError("latency_ms must be a non-negative integer")
        return value
    return _trigger(key, value)


def _trigger(key: str, value: Any) -> float:
    if value is None or value is False:
        return 0
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, float) and 0 <= value <= 1:
        return value
    raise FaultError(f"{key} must be a count (int >= 0) or a probability (float in [0, 1])")
