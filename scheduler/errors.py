"""What a task handler raises to tell the runner how an attempt ended."""

from __future__ import annotations

from datetime import datetime


class TaskError(Exception):
    """The attempt failed. `permanent` says a retry cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class TaskBlocked(Exception):
    """The outcome needs a human decision; the task waits as `blocked` holding nothing."""

    def __init__(self, reason: str, *, data: dict[str, object] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.data = data or {}


class TaskDeferred(Exception):
    """Nothing happened and nothing went wrong: run again at `until` without using a retry.

    Raised when a service reports a limit (429) before doing anything.
    """

    def __init__(self, until: datetime, reason: str) -> None:
        super().__init__(reason)
        self.until = until
        self.reason = reason


class TaskCancelled(Exception):
    """The task saw its cancel request and stopped cooperatively."""
