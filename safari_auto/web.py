"""`python -m safari_auto.web --host H --port P`: the web tier as WEB_PROCESSES daphne processes.

Daphne runs Django in one process, so one core at most serves the API. This opens the
listening socket once and starts WEB_PROCESSES daphne processes on it (`daphne --fd`): the
kernel hands each new connection to one of them. With 1 it runs daphne in its place, as
before. Each process has its own dashboard relay (dashboard/relay.py), so every process's
websockets get every event, on SQLite (in-memory channel layer) as on Redis.

SIGTERM or SIGINT goes to every daphne; one that exits on its own stops the others, and this
exits with its code. `bin/run-all` and the harness stop the whole process group.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time

APP = "safari_auto.asgi:application"


def processes() -> int:
    raw = os.environ.get("WEB_PROCESSES", "") or str(min(2, os.cpu_count() or 1))
    try:
        count = int(raw)
    except ValueError:
        raise SystemExit(f"WEB_PROCESSES must be a whole number, not {raw!r}") from None
    if not 1 <= count <= 64:
        raise SystemExit(f"WEB_PROCESSES must be between 1 and 64, not {count}")
    return count


def daphne(*args: str) -> list[str]:
    return [sys.executable, "-m", "daphne", *args, APP]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3010)
    options = parser.parse_args(argv)
    count = processes()
    if count == 1:
        os.execv(sys.executable, daphne("-b", options.host, "-p", str(options.port)))  # noqa: S606
    family = socket.AF_INET6 if ":" in options.host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((options.host, options.port))
    listener.listen(1024)
    fd = listener.fileno()
    os.set_inheritable(fd, True)
    children = [
        subprocess.Popen(daphne("--fd", str(fd)), pass_fds=(fd,))  # noqa: S603 - daphne
        for _ in range(count)
    ]
    listener.close()  # the children hold it now

    def stop(signum: int, _frame: object) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while all(child.poll() is None for child in children):
        time.sleep(0.2)
    stop(signal.SIGTERM, None)  # one ended: the others go too
    codes = [child.wait() for child in children]
    return next((code for code in codes if code), 0)


if __name__ == "__main__":
    sys.exit(main())
