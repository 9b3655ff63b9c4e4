"""The worker supervisor: runs this host's django-q2 cluster as a child and answers for it.

It signs the host on (`scheduler.hosts`), beats while the cluster runs, and:
- restarts a cluster that exits (with backoff when it keeps dying);
- restarts a cluster that *froze*: django-q2 freezes a whole cluster when a worker dies
  holding the task queue's lock (upstream django-q2 issue #23: an idle worker SIGKILLed while
  it waits on the queue). Seen from outside, the cluster has idle workers yet starts nothing it
  was sent (`waiting_since`): once that holds for FREEZE_SECONDS and again one beat later, the
  cluster is killed and started again. Tasks still running on its healthy workers get up to
  STOP_GRACE_SECONDS to finish first;
- before each (re)start, when no process of the old cluster is left, recovers the host's work
  at once (`scheduler.recovery.host_recover`): its scheduled tasks go back to the queue and its
  running ones through the reaper's recovery, instead of after the claim lease or heartbeat
  timeout;
- stops within a bound: SIGTERM to the cluster, then SIGKILL to its whole process group after
  STOP_GRACE_SECONDS (django-q2's own signal handling can deadlock and ignore SIGTERM: upstream
  issue #346).
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
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from scheduler import hosts, recovery, selectors
from scheduler.selectors import HostWork

logger = logging.getLogger(__name__)

QCLUSTER = (sys.executable, "-m", "django", "qcluster_supervised")
# A cluster that keeps dying is restarted after 0, 1, 2, 4 … s, at most this long.
RESTART_BACKOFF_CAP_SECONDS = 30.0
# A cluster that ran this long counts as healthy: its next exit is replaced at once again.
HEALTHY_AFTER_SECONDS = 10.0
# How often the supervisor looks whether its cluster exited, between beats.
EXIT_POLL_SECONDS = 0.1
# How long SIGKILLed processes may take to be gone before the supervisor goes on anyway.
GONE_TIMEOUT_SECONDS = 5.0


def waiting_since(work: HostWork, *, cluster_since: datetime, workers: int) -> datetime | None:
    """Since when the host's cluster has had work it was sent waiting while a worker is free:
    the oldest waiting claim (or the cluster's start, if later). None when nothing waits or
    every worker is busy. A cluster that started nothing since then, for long, is frozen."""
    if work.oldest_claim is None or work.running >= workers:
        return None
    return max(work.oldest_claim, cluster_since)


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
        self.freeze_seconds = float(conf["FREEZE_SECONDS"])
        self.workers = int(settings.Q_CLUSTER["workers"])
        self.machine = socket.gethostname()
        self.stop_event = threading.Event()
        self.child: subprocess.Popen[bytes] | None = None
        self.cluster_since: datetime | None = None  # when its workers were all up
        self.incarnation = 0
        self.owns_host = False  # signed on, and no other supervisor took the host over since
        self.restarts = 0
        self._failures = 0
        self._started = time.monotonic()
        self._suspect_samples = 0
        self._suspect_since: datetime | None = None

    # --- the cluster --------------------------------------------------------------------

    def start_cluster(self, why: str = "a new worker cluster started") -> None:
        now = timezone.now()
        self.owns_host = False
        self.incarnation = hosts.sign_on(
            self.host,
            machine=self.machine,
            pid=os.getpid(),
            workers=self.workers,
            now=now,
            holder_gone=self._holder_gone,
        )
        self.owns_host = True
        # Signed on, so no other supervisor serves this host, and the old cluster (if any) is
        # gone: whatever of this host is still scheduled or running will never finish.
        self._recover(why, now)
        env = {**os.environ, "SAFARI_HOST": self.host}
        # Its own process group: a stop reaches django-q2's workers as well as its main process.
        # Its stdin is a pipe this process never writes: the cluster dies with its supervisor.
        self.child = subprocess.Popen(  # noqa: S603
            self.command, env=env, start_new_session=True, stdin=subprocess.PIPE
        )
        self.cluster_since = None
        self._started = time.monotonic()
        self._suspect_samples = 0
        self.log(
            f"host {self.host}: cluster started (pid {self.child.pid}, "
            f"incarnation {self.incarnation})"
        )

    def stop_cluster(self, *, grace: float | None = None) -> int | None:
        """SIGTERM the cluster (django-q2 stops its own workers), SIGKILL its whole group after
        the grace period; its exit code. Returns once no process of the group is left."""
        child = self.child
        if child is None:
            return None
        grace = self.grace_seconds if grace is None else grace
        if child.poll() is None and grace > 0:
            child.send_signal(signal.SIGTERM)
        try:
            code = child.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            if grace > 0:
                self.log(f"host {self.host}: cluster ignored SIGTERM for {grace:.0f}s; killing it")
            self._signal_group(child.pid, signal.SIGKILL)
            code = child.wait()
        # Workers outlive a main process that died first: the group goes whatever happened.
        self._signal_group(child.pid, signal.SIGKILL)
        if not wait_group_gone(child.pid, GONE_TIMEOUT_SECONDS):
            self.log(f"host {self.host}: processes of group {child.pid} survived SIGKILL")
        self.child = None
        return code

    def _holder_gone(self, machine: str, pid: int) -> bool:
        """Whether the supervisor that last signed the host on is provably dead: it ran on this
        machine and its process is gone (its cluster died with it: `qcluster_supervised`)."""
        if machine != self.machine or pid == os.getpid():
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False

    @staticmethod
    def _signal_group(pgid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)

    def _recover(self, why: str, now: datetime) -> None:
        def recover() -> None:
            done = recovery.host_recover(host=self.host, why=why, now=now)
            if done:
                self.log(
                    f"host {self.host}: {why}; {done.requeued} waiting tasks back in the "
                    f"queue, {done.recovered} interrupted tasks recovered"
                )

        self._safely(recover)

    # --- the loop -----------------------------------------------------------------------

    def run(self) -> None:
        """Until `stop_event`: keep a cluster running and beat for it. Raises HostTaken if
        another supervisor serves this host."""
        self.start_cluster()
        try:
            while not self.stop_event.is_set():
                self.tick()
                self._until_next_beat()
        finally:
            code = self.stop_cluster()
            now = timezone.now()
            if self.owns_host:  # else the host's work is another supervisor's now
                self._recover("workers stopped", now)
                self._safely(
                    lambda: hosts.sign_off(self.host, incarnation=self.incarnation, now=now)
                )
            self.log(f"host {self.host}: cluster stopped (exit {code})")

    def _until_next_beat(self) -> None:
        """Wait one beat, or less: a cluster that exits is noticed within EXIT_POLL_SECONDS."""
        deadline = time.monotonic() + self.beat_seconds
        while not self.stop_event.is_set() and (left := deadline - time.monotonic()) > 0:
            if self.child is not None and self.child.poll() is not None:
                return
            self.stop_event.wait(min(left, EXIT_POLL_SECONDS))

    def tick(self) -> None:
        close_old_connections()
        child = self.child
        if child is not None and child.poll() is not None:
            self._failures += 1
            self.restart(f"cluster exited with code {child.returncode}", grace=0)
            return
        if time.monotonic() - self._started >= HEALTHY_AFTER_SECONDS:
            self._failures = 0
        alive = self._safely(
            lambda: hosts.beat(self.host, incarnation=self.incarnation, now=timezone.now())
        )
        if alive is False:  # None: the database was away for this beat
            self.owns_host = False
            raise hosts.HostTaken(
                f"host {self.host} was taken over by another supervisor (this one was silent "
                "for longer than SCHEDULER_HOST_LEASE_SECONDS); stopping this cluster"
            )
        frozen = self._safely(self.frozen)
        if isinstance(frozen, str) and frozen:
            self._failures += 1
            self.restart(frozen, grace=0)

    def restart(self, why: str, *, grace: float) -> None:
        """A cluster that ran well is replaced at once; one that keeps dying after 1, 2, 4 … s."""
        delay = min(2.0 ** (self._failures - 2), RESTART_BACKOFF_CAP_SECONDS)
        delay = delay if self._failures > 1 else 0.0
        self.log(f"host {self.host}: {why}; restarting in {delay:.0f}s")
        self.stop_cluster(grace=grace)  # whatever of its group is left
        self.restarts += 1
        if self.stop_event.wait(delay):
            return
        self.start_cluster(why)

    def frozen(self) -> str:
        """Why the cluster counts as frozen now ('' while it does not): work it was sent has
        waited FREEZE_SECONDS with a worker free and nothing started, on two beats in a row.
        Its tasks still running get up to STOP_GRACE_SECONDS to finish."""
        if self.freeze_seconds <= 0 or not self._cluster_up():
            return ""
        now = timezone.now()
        work = selectors.host_work(host=self.host)
        assert self.cluster_since is not None  # noqa: S101 - set by _cluster_up
        since = waiting_since(work, cluster_since=self.cluster_since, workers=self.workers)
        stuck = (
            since is not None
            and now - since >= timedelta(seconds=self.freeze_seconds)
            and not selectors.host_started_since(host=self.host, since=since)
        )
        if not stuck:
            self._suspect_samples = 0
            return ""
        self._suspect_samples += 1
        if self._suspect_samples == 1:
            self._suspect_since = now
            return ""
        held = (now - (self._suspect_since or now)).total_seconds()
        if work.running and held < self.grace_seconds:
            if self._suspect_samples == 2:
                self.log(
                    f"host {self.host}: cluster looks frozen; waiting for its {work.running} "
                    "running tasks to finish before restarting it"
                )
            return ""
        waited = (now - since).total_seconds() if since else 0.0
        return f"cluster frozen: work waited {waited:.0f}s with a worker free and none started"

    def _cluster_up(self) -> bool:
        """Whether the cluster has booted: its main process, django-q2's sentinel, monitor,
        pusher and every worker are up (a cold start on a busy machine takes seconds, and
        must not look like a freeze)."""
        child = self.child
        if self.cluster_since is None and child and group_members(child.pid) >= self.workers + 4:
            self.cluster_since = timezone.now()
        return self.cluster_since is not None

    def _safely(self, step: Callable[[], object]) -> object:
        """A database that is briefly away costs a beat, never the cluster."""
        try:
            return step()
        except Exception:
            logger.exception("host %s: could not reach the database", self.host)
            return None


def wait_group_gone(pgid: int, timeout: float) -> bool:
    """Whether every process of group `pgid` is gone (zombies count as gone: they run
    nothing) within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while group_alive(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def group_alive(pgid: int) -> bool:
    return group_members(pgid) > 0


def group_members(pgid: int) -> int:
    """How many processes of group `pgid` are alive (zombies run nothing and do not count)."""
    proc = Path("/proc")
    if proc.is_dir():  # Linux
        count = 0
        for stat in proc.glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            count += int(fields[2]) == pgid and fields[0] != "Z"
        return count
    listing = subprocess.run(  # macOS and BSD: ps lists every process
        ["/bin/ps", "-A", "-o", "pgid=,stat="], capture_output=True, text=True, check=False
    ).stdout
    return sum(
        1
        for line in listing.splitlines()
        if len(parts := line.split()) == 2
        and parts[0] == str(pgid)
        and not parts[1].startswith("Z")
    )
