"""Progress of a long command on its stdout: a rich bar on a terminal, else a plain "n/N …"
line every tenth of the way (and at the end), so a log or a pipe gets no bar noise; nothing at
`-v 0`, and nothing for runs too short to need it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TextIO

from rich.console import Console
from rich.progress import Progress as Bar

MIN_ITEMS = 20  # below this a run is short: its summary line says enough


class Writer(Protocol):
    def write(self, msg: str, /) -> Any: ...


def _stream(stdout: Any) -> TextIO:
    """The file under Django's OutputWrapper (or the stream itself), to ask if it is a TTY."""
    stream: TextIO = getattr(stdout, "_out", stdout)
    return stream


def is_tty(stdout: Any) -> bool:
    stream = _stream(stdout)
    return bool(getattr(stream, "isatty", lambda: False)())


def line_marks(total: int) -> set[int]:
    """The counts at which a plain line is printed: each tenth of the way, and the last."""
    step = max(1, total // 10)
    return {n for n in range(step, total + 1, step)} | {total}


class Progress:
    """`step(done, total)` after each item draws the bar or prints the lines, or nothing;
    use it as a context manager (the bar goes when the run ends)."""

    def __init__(self, stdout: Any, *, what: str, verbosity: int = 1) -> None:
        self.stdout = stdout
        self.what = what
        self.quiet = verbosity < 1
        self.bar: Bar | None = None
        self.job: Any = None

    def step(self, done: int, total: int) -> None:
        if self.quiet or total < MIN_ITEMS:
            return
        if not is_tty(self.stdout):
            if done in line_marks(total):
                self.stdout.write(f"{done}/{total} {self.what}\n")
            return
        if self.bar is None:
            self.bar = Bar(console=Console(file=_stream(self.stdout)), transient=True)
            self.bar.start()
            self.job = self.bar.add_task(self.what, total=total)
        self.bar.update(self.job, completed=done)

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


@contextmanager
def heartbeat(
    stdout: Writer, *, what: str, every: float = 30.0, verbosity: int = 1
) -> Iterator[None]:
    """For a run whose size is not known up front: "… still running (N s)" every `every`
    seconds until it ends (nothing at `-v 0`)."""
    if verbosity < 1:
        yield
        return
    done = threading.Event()
    started = time.monotonic()

    def beat() -> None:
        while not done.wait(every):
            stdout.write(f"{what}: still running ({time.monotonic() - started:.0f} s)\n")

    thread = threading.Thread(target=beat, name="progress-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join(timeout=5)
