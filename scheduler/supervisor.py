"""The worker supervisor: runs this host's django-q2 clusters as children and answers for them.

A host has one cluster per pool (`planning.pool_of`): with workers reserved, one of those
workers for Safari work and urgent tasks and one for ordinary work; with none, one cluster. They
are handled as one: when one exits or freezes, all are stopped, the host's work recovered and
all started again (recovery is per host, and must not find a task still running elsewhere).

It signs the host on (`scheduler.hosts`), beats while the clusters run, and:
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
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from scheduler import hosts, recovery, selectors
from scheduler.planning import MAIN_POOL, ORDINARY_POOL
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
    """Since when a cluster has had work it was sent waiting while a worker is free: the
    oldest waiting claim (or the cluster's start, if later). None when nothing waits or every
    worker is busy. A cluster that started nothing since then, for long, is frozen."""
    if work.oldest_claim is None or work.running >= workers:
        return None
    return max(work.oldest_claim, cluster_since)


def host_pools() -> list[tuple[str, int]]:
    """This host's pools and their workers (settings: Q_WORKERS, SCHEDULER_RESERVED_WORKERS)."""
    reserved = int(settings.SCHEDULER["RESERVED_WORKERS"])
    if reserved <= 0:
        return [(MAIN_POOL, int(settings.Q_WORKERS))]
    return [(MAIN_POOL, reserved), (ORDINARY_POOL, int(settings.Q_WORKERS))]


@dataclass
class Cluster:
    """One pool's django-q2 cluster as its supervisor runs it."""

    pool: str
    workers: int
    child: subprocess.Popen[bytes] | None = None
    since: datetime | None = None  # when all of its processes were up
    suspect_samples: int = 0
    suspect_since: datetime | None = None

    @property
    def name(self) -> str:
        return "cluster" if self.pool == MAIN_POOL else f"{self.pool} cluster"


class Supervisor:
    def __init__(
        self,
        *,
        host: str | None = None,
        command: Sequence[str] = QCLUSTER,
        log: Callable[[str], None] | None = None,
        pools: Sequence[tuple[str, int]] | None = None,
    ) -> None:
        conf = settings.SCHEDULER
        self.host = host or settings.SAFARI_HOST
        self.command = list(command)
        self.log = log or logger.info
        self.beat_seconds = float(conf["HOST_BEAT_SECONDS"])
        self.grace_seconds = float(conf["STOP_GRACE_SECONDS"])
        self.freeze_seconds = float(conf["FREEZE_SECONDS"])
        self.clusters = [Cluster(pool, workers) for pool, workers in (pools or host_pools())]
        self.machine = socket.gethostname()
        self.stop_event = threading.Event()
        self.incarnation = 0
        self.owns_host = False  # signed on, and no other supervisor took the host over since
        self.restarts = 0
        self._failures = 0
        self._started = time.monotonic()

    @property
    def workers(self) -> int:
        return sum(cluster.workers for cluster in self.clusters)

    @property
    def child(self) -> subprocess.Popen[bytes] | None:
        """The main pool's cluster (the one that runs Safari work)."""
        return self.clusters[0].child

    # --- the clusters -------------------------------------------------------------------

    def start_clusters(self, why: str = "a new worker cluster started") -> None:
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
        # Signed on, so no other supervisor serves this host, and the old clusters (if any) are
        # gone: whatever of this host is still scheduled or running will never finish.
        self._recover(why, now)
        self._started = time.monotonic()
        for cluster in self.clusters:
            env = {**os.environ, "SAFARI_HOST": self.host, "SAFARI_WORKER_POOL": cluster.pool}
            # Its own process group: a stop reaches django-q2's workers as well as its main
            # process. Its stdin is a pipe this process never writes: it dies with its supervisor.
            cluster.child = subprocess.Popen(  # noqa: S603
                self.command, env=env, start_new_session=True, stdin=subprocess.PIPE
            )
            cluster.since = None
            cluster.suspect_samples = 0
            self.log(
                f"host {self.host}: {cluster.name} started ({cluster.workers} workers, "
                f"pid {cluster.child.pid}, incarnation {self.incarnation})"
            )

    def stop_clusters(self, *, grace: float | None = None) -> list[int | None]:
        """SIGTERM every cluster (django-q2 stops its own workers), SIGKILL each one's whole
        group after the grace period; their exit codes. Returns once no process of theirs is
        left."""
        grace = self.grace_seconds if grace is None else grace
        running = [cluster for cluster in self.clusters if cluster.child is not None]
        for cluster in running:
            assert cluster.child is not None  # noqa: S101
            if cluster.child.poll() is None and grace > 0:
                cluster.child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        codes: list[int | None] = []
        for cluster in running:
            child = cluster.child
            assert child is not None  # noqa: S101
            try:
                code = child.wait(timeout=max(deadline - time.monotonic(), 0))
            except subprocess.TimeoutExpired:
                if grace > 0:
                    self.log(
                        f"host {self.host}: {cluster.name} ignored SIGTERM for {grace:.0f}s; "
                        "killing it"
                    )
                self._signal_group(child.pid, signal.SIGKILL)
                code = child.wait()
            # Workers outlive a main process that died first: the group goes whatever happened.
            self._signal_group(child.pid, signal.SIGKILL)
            if not wait_group_gone(child.pid, GONE_TIMEOUT_SECONDS):
                self.log(f"host {self.host}: processes of group {child.pid} survived SIGKILL")
            cluster.child = None
            codes.append(code)
        return codes

    def _holder_gone(self, machine: str, pid: int) -> bool:
        """Whether the supervisor that last signed the host on is provably dead: it ran on this
        machine and its process is gone (its clusters died with it: `qcluster_supervised`)."""
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
        """Until `stop_event`: keep the clusters running and beat for them. Raises HostTaken if
        another supervisor serves this host."""
        self.start_clusters()
        try:
            while not self.stop_event.is_set():
                self.tick()
                self._until_next_beat()
        finally:
            codes = self.stop_clusters()
            now = timezone.now()
            if self.owns_host:  # else the host's work is another supervisor's now
                self._recover("workers stopped", now)
                self._safely(
                    lambda: hosts.sign_off(self.host, incarnation=self.incarnation, now=now)
                )
            exits = ", ".join(str(code) for code in codes) or "none running"
            self.log(f"host {self.host}: clusters stopped (exit {exits})")

    def _exited(self) -> Cluster | None:
        return next(
            (c for c in self.clusters if c.child is not None and c.child.poll() is not None),
            None,
        )

    def _until_next_beat(self) -> None:
        """Wait one beat, or less: a cluster that exits is noticed within EXIT_POLL_SECONDS."""
        deadline = time.monotonic() + self.beat_seconds
        while not self.stop_event.is_set() and (left := deadline - time.monotonic()) > 0:
            if self._exited() is not None:
                return
            self.stop_event.wait(min(left, EXIT_POLL_SECONDS))

    def tick(self) -> None:
        close_old_connections()
        exited = self._exited()
        if exited is not None:
            assert exited.child is not None  # noqa: S101
            self._failures += 1
            self.restart(f"{exited.name} exited with code {exited.child.returncode}", grace=0)
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
                "for longer than SCHEDULER_HOST_LEASE_SECONDS); stopping its clusters"
            )
        for cluster in self.clusters:
            frozen = self._safely(partial(self.frozen, cluster))
            if isinstance(frozen, str) and frozen:
                self._failures += 1
                self.restart(frozen, grace=0)
                return

    def restart(self, why: str, *, grace: float) -> None:
        """Clusters that ran well are replaced at once; ones that keep dying after 1, 2, 4 … s."""
        delay = min(2.0 ** (self._failures - 2), RESTART_BACKOFF_CAP_SECONDS)
        delay = delay if self._failures > 1 else 0.0
        self.log(f"host {self.host}: {why}; restarting its clusters in {delay:.0f}s")
        self.stop_clusters(grace=grace)  # whatever of their groups is left
        self.restarts += 1
        if self.stop_event.wait(delay):
            return
        self.start_clusters(why)

    def frozen(self, cluster: Cluster) -> str:
        """Why `cluster` counts as frozen now ('' while it does not): work it was sent has
        waited FREEZE_SECONDS with a worker free and nothing started, on two beats in a row.
        Its tasks still running get up to STOP_GRACE_SECONDS to finish."""
        if self.freeze_seconds <= 0 or not self._cluster_up(cluster):
            return ""
        now = timezone.now()
        pool = cluster.pool if len(self.clusters) > 1 else None
        work = selectors.host_work(host=self.host, pool=pool)
        assert cluster.since is not None  # noqa: S101 - set by _cluster_up
        since = waiting_since(work, cluster_since=cluster.since, workers=cluster.workers)
        stuck = (
            since is not None
            and now - since >= timedelta(seconds=self.freeze_seconds)
            and not selectors.host_started_since(host=self.host, since=since, pool=pool)
        )
        if not stuck:
            cluster.suspect_samples = 0
            return ""
        cluster.suspect_samples += 1
        if cluster.suspect_samples == 1:
            cluster.suspect_since = now
            return ""
        held = (now - (cluster.suspect_since or now)).total_seconds()
        if work.running and held < self.grace_seconds:
            if cluster.suspect_samples == 2:
                self.log(
                    f"host {self.host}: {cluster.name} looks frozen; waiting for its "
                    f"{work.running} running tasks to finish before restarting it"
                )
            return ""
        waited = (now - since).total_seconds() if since else 0.0
        return (
            f"{cluster.name} frozen: work waited {waited:.0f}s with a worker free and none started"
        )

    def _cluster_up(self, cluster: Cluster) -> bool:
        """Whether `cluster` has booted: its main process, django-q2's sentinel, monitor,
        pusher and every worker are up (a cold start on a busy machine takes seconds, and
        must not look like a freeze)."""
        child = cluster.child
        if cluster.since is None and child and group_members(child.pid) >= cluster.workers + 4:
            cluster.since = timezone.now()
        return cluster.since is not None

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
