"""`manage.py qcluster_supervised`: django-q2's `qcluster`, tied to its supervisor's life.

The supervisor (`manage.py workers`) starts this with a pipe on stdin and never writes to it.
When the supervisor dies, however it dies (SIGKILL included), the pipe reads end-of-file and the
whole cluster is killed at once: a cluster never outlives the supervisor that answers for it, so
a new supervisor can recover the host's work without an orphaned cluster still running it.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand


def watch_lifeline(fd: int) -> None:
    """Block until the pipe closes (the supervisor is gone), then kill this process group.
    A raw `os.read` on a descriptor of its own: a thread blocked in `sys.stdin` would hold the
    stream's lock, and django-q2's forked processes, which close stdin, would wait on it."""
    try:
        os.read(fd, 1)  # the supervisor never writes: this returns only at end-of-file
    finally:
        os.killpg(os.getpgrp(), signal.SIGKILL)


class Command(BaseCommand):
    help = (
        "Internal: the worker cluster as `manage.py workers` runs it (django-q2's qcluster that "
        "exits when its supervisor does). Run `manage.py workers` instead."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if os.getpgrp() != os.getpid():
            # Killing "our group" must only ever mean this cluster.
            self.stderr.write("qcluster_supervised must lead its own process group")
            sys.exit(2)
        lifeline = os.dup(sys.stdin.fileno())
        os.set_inheritable(lifeline, False)  # only this process watches it
        threading.Thread(
            target=watch_lifeline, args=(lifeline,), name="lifeline", daemon=True
        ).start()
        call_command("qcluster")
