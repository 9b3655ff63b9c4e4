"""The worker supervisor: runs this host's django-q2 cluster as a child and answers for it.

It signs the host on (`scheduler.hosts`), beats while the cluster runs, restarts a cluster that
exits, and stops it within a bound: SIGTERM to the cluster, then SIGKILL to its whole process group
after STOP_GRACE_SECONDS (django-q2's own signal handling can deadlock and ignore SIGTERM).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from scheduler import hosts

logger = logging.getLogger(__name__)

QCLUSTER = (sys.executable, "-m", "django", "qcluster")
# A cluster that keeps dying is restarted after 1, 2, 4 … s, at most this long.
RESTART_BACKOFF_CAP_SECONDS = 30.0


class Supervisor:
    def __init__(
        self,
        *,
        host: str | None = None,
        command: Sequence[str] = QCLUSTER,
        log: Callable[[str], None] | None = None,
    ) -> None:
        conf = settings.SCHEDULER
        self.host = host or settings.SAFARI_HOST
        self.command = list(command)
        self.log = log or logger.info
        self.beat_seconds = float(conf["HOST_BEAT_SECONDS"])
        self.grace_seconds = float(conf["STOP_GRACE_SECONDS"])
        self.workers = int(settings.Q_CLUSTER["workers"])
        self.machine = socket.gethostname()
        self.stop_event = threading.Event()
        self.child: subprocess.Popen[bytes] | None = None
        self.incarnation = 0
        self._failures = 0

    # --- the cluster --------------------------------------------------------------------

    def start_cluster(self) -> None:
        self.incarnation = hosts.sign_on(
            self.host,
            machine=self.machine,
            pid=os.getpid(),
            workers=self.workers,
            now=timezone.now(),
        )
        env = {**os.environ, "SAFARI_HOST": self.host}
        # Its own process group: a stop reaches django-q2's workers as well as its main process.
        self.child = subprocess.Popen(self.command, env=env, start_new_session=True)  # noqa: S603
        self.log(
            f"host {self.host}: cluster started (pid {self.child.pid}, "
            f"incarnation {self.incarnation})"
        )

    def stop_cluster(self) -> int | None:
        """SIGTERM the cluster (django-q2 stops its own workers), SIGKILL its whole group after
        the grace period; its exit code."""
        child = self.child
        if child is None:
            return None
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
        try:
            code = child.wait(timeout=self.grace_seconds)
        except subprocess.TimeoutExpired:
            self.log(
                f"host {self.host}: cluster ignored SIGTERM for {self.grace_seconds:.0f}s; "
                "killing it"
            )
            self._signal_group(child.pid, signal.SIGKILL)
            code = child.wait()
        # Workers outlive a main process that died first: the group goes whatever happened.
        self._signal_group(child.pid, signal.SIGKILL)
        self.child = None
        return code

    @staticmethod
    def _signal_group(pgid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, sig)

    # --- the loop -----------------------------------------------------------------------

    def run(self) -> None:
        """Until `stop_event`: keep a cluster running and beat for it. Raises HostTaken if
        another supervisor serves this host."""
        self.start_cluster()
        try:
            while not self.stop_event.is_set():
                self.tick()
                self.stop_event.wait(self.beat_seconds)
        finally:
            code = self.stop_cluster()
            self._safely(
                lambda: hosts.sign_off(self.host, incarnation=self.incarnation, now=timezone.now())
            )
            self.log(f"host {self.host}: cluster stopped (exit {code})")

    def tick(self) -> None:
        close_old_connections()
        child = self.child
        if child is not None and child.poll() is not None:
            self._failures += 1
            delay = min(2.0 ** (self._failures - 1), RESTART_BACKOFF_CAP_SECONDS)
            self.log(
                f"host {self.host}: cluster exited with code {child.returncode}; "
                f"restarting in {delay:.0f}s"
            )
            self.stop_cluster()  # whatever of its group is left
            if self.stop_event.wait(delay):
                return
            self.start_cluster()
            return
        self._failures = 0
        self._safely(
            lambda: hosts.beat(self.host, incarnation=self.incarnation, now=timezone.now())
        )

    def _safely(self, step: Callable[[], object]) -> None:
        """A database that is briefly away costs a beat, never the cluster."""
        try:
            step()
        except Exception:
            logger.exception("host %s: could not reach the database", self.host)
