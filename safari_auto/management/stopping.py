"""How the long commands that start whole systems (`bench`, `load`, `soak`, `chaos`) stop."""

from __future__ import annotations

import signal
from types import FrameType


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def stop_on_sigterm() -> None:
    """SIGTERM (a `kill`, a CI timeout) ends the run as Ctrl-C does: each system it started is
    stopped on the way out by its `with` block, instead of outliving the command."""
    signal.signal(signal.SIGTERM, _interrupt)
