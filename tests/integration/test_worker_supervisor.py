"""The worker supervisor (`manage.py workers`) with stand-in clusters (real child processes):
it restarts a cluster that exits with growing backoff, kills one that ignores SIGTERM with its
whole process group, signs its host on and off, recovers the host's work before each start,
restarts a frozen cluster (after its running tasks drain) and says clearly when the host is
already served elsewhere."""

from __future__ import annotations

import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from scheduler import hosts, registry
from scheduler.handlers import check
from scheduler.models import Event, Task, WorkerHost
from scheduler.registry import TaskType
from scheduler.supervisor import Supervisor, group_alive, host_pools
from tests.factories import TaskFactory

# Supervisors close their connections between beats: a test transaction would not survive.
pytestmark = pytest.mark.django_db(transaction=True)

SLEEPER = (sys.executable, "-c", "import time; time.sleep(300)")
# A stand-in cluster as big as a booted one of 1 worker (main, sentinel, monitor, pusher and
# the worker: 5 processes in its group), so the freeze check takes it as up.
CLUSTER_OF_ONE = ("bash", "-c", "for n in 1 2 3 4; do sleep 300 & done; wait")


@pytest.fixture(autouse=True)
def quick(settings):
    settings.SCHEDULER = {
        **settings.SCHEDULER,
        "HOST_BEAT_SECONDS": 0.05,
        "STOP_GRACE_SECONDS": 1.0,
        "FREEZE_SECONDS": 1.0,
    }
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "workers": 1}


@pytest.fixture
def supervisors():
    """Supervisors made by a test, stopped (children and all) whatever happens."""
    made: list[Supervisor] = []

    def make(command=SLEEPER, pools=(("main", 1),), **kwargs) -> Supervisor:
        supervisor = Supervisor(
            host="studio", command=command, log=lines.append, pools=pools, **kwargs
        )
        made.append(supervisor)
        return supervisor

    lines: list[str] = []
    make.lines = lines  # type: ignore[attr-defined]
    yield make
    for supervisor in made:
        supervisor.stop_clusters(grace=0)


def running(pid: int) -> bool:
    """Whether `pid` still runs (a zombie nobody reaped yet runs nothing)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def no_waiting(supervisor: Supervisor, delays: list[float]) -> None:
    """Record the supervisor's restart delays instead of sleeping through them."""

    def wait(seconds: float | None = None) -> bool:
        delays.append(seconds or 0)
        return False

    supervisor.stop_event.wait = wait  # type: ignore[method-assign]


def test_a_cluster_that_keeps_exiting_is_restarted_with_growing_backoff(supervisors):
    crashing = supervisors((sys.executable, "-c", "raise SystemExit(3)"))
    delays: list[float] = []
    no_waiting(crashing, delays)
    crashing.start_clusters()
    for _ in range(3):
        assert crashing.child is not None
        crashing.child.wait(timeout=30)
        crashing.tick()
    assert delays == [0.0, 1.0, 2.0]  # a first exit is replaced at once
    assert crashing.incarnation == 4
    restarting = "exited with code 3; restarting its clusters in 2s"
    assert any(restarting in line for line in supervisors.lines)
    online = Event.objects.filter(kind="host.online", subject_id="studio").count()
    assert online == 4


def test_a_cluster_that_ignores_sigterm_is_killed_with_its_whole_group_after_the_grace(
    supervisors, tmp_path: Path
):
    pids = tmp_path / "pids"
    stubborn = supervisors(
        (
            sys.executable,
            "-c",
            "import os, signal, subprocess, sys, time\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            "child = subprocess.Popen(['sleep', '300'])\n"
            f"open({str(pids)!r}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\n"
            "time.sleep(300)\n",
        )
    )
    stubborn.start_clusters()
    deadline = time.monotonic() + 30
    while not (pids.exists() and pids.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    main, grandchild = map(int, pids.read_text().split())
    assert stubborn.child is not None
    group = stubborn.child.pid

    started = time.monotonic()
    [code] = stubborn.stop_clusters()
    took = time.monotonic() - started

    assert code == -9  # SIGKILLed: it ignored the SIGTERM
    assert 1.0 <= took < 6.0, took
    assert not group_alive(group)
    assert not running(main)
    assert not running(grandchild)
    assert any("ignored SIGTERM for 1s; killing it" in line for line in supervisors.lines)


def test_a_supervisor_signs_its_host_on_beats_and_signs_off_when_stopped(supervisors):
    supervisor = supervisors()
    runner = threading.Thread(target=supervisor.run)
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            state = hosts.liveness(timezone.now(), ["studio"])["studio"]
            row = WorkerHost.objects.filter(host="studio").first()
            if state.state == "online" and row and row.seen_at and row.seen_at > row.started_at:
                break  # it beat at least once
            time.sleep(0.05)
        assert hosts.liveness(timezone.now(), ["studio"])["studio"].state == "online"
        child = supervisor.child
        assert child is not None
        assert child.poll() is None
    finally:
        supervisor.stop_event.set()
        runner.join(timeout=30)
    assert not runner.is_alive()
    assert child.poll() is not None
    assert hosts.liveness(timezone.now(), ["studio"])["studio"].state == "stopped"


def test_a_host_another_live_supervisor_serves_is_a_clear_command_error(settings):
    settings.SAFARI_HOST = "studio"
    hosts.sign_on("studio", machine="other-mac", pid=4242, workers=4, now=timezone.now())
    with pytest.raises(CommandError, match="host studio already has a running worker cluster"):
        call_command("workers")


def test_a_cluster_start_recovers_the_hosts_unfinished_work_at_once(supervisors):
    """Claims and heartbeats are fresh (the reaper would wait 120 s and 30 s): the new cluster's
    start requeues what waited and recovers what ran, on its own host only."""
    recovered: list[int] = []

    def recover(task: Task) -> bool:
        recovered.append(task.pk)
        return False  # marks its own state, then lets the core retry

    registry.register_task_type(TaskType("verified_send", check, extra={"recover": recover}))
    now = timezone.now()
    waiting = TaskFactory(safari_host="studio", status="scheduled", attempt=1, claimed_at=now)
    running = TaskFactory(
        safari_host="studio",
        type="verified_send",
        status="running",
        attempt=1,
        claimed_at=now,
        heartbeat_at=now,
        max_retries=2,
    )
    elsewhere = TaskFactory(safari_host="laptop", status="running", attempt=1, heartbeat_at=now)

    supervisors().start_clusters("cluster exited with code -9")

    waiting.refresh_from_db()
    running.refresh_from_db()
    assert (waiting.status, waiting.claimed_by) == ("pending", "")
    assert running.status == "pending"
    assert running.retry_count == 1
    assert "worker lost: cluster exited with code -9 on host studio" in running.error
    assert recovered == [running.pk]
    assert Task.objects.get(pk=elsewhere.pk).status == "running"
    assert Event.objects.filter(task=waiting, kind="task.reclaimed").exists()


def frozen_host(supervisors):
    """A booted stand-in cluster of one worker on host studio, with work it was sent 10 s ago
    and never started."""
    supervisor = supervisors(CLUSTER_OF_ONE)
    supervisor.start_clusters()
    assert supervisor.child is not None
    deadline = time.monotonic() + 30
    cluster = supervisor.clusters[0]
    while not supervisor._cluster_up(cluster) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert cluster.since is not None
    cluster.since -= timedelta(seconds=10)  # booted a while ago
    claimed = timezone.now() - timedelta(seconds=10)
    waiting = TaskFactory(safari_host="studio", status="scheduled", attempt=1, claimed_at=claimed)
    return supervisor, waiting


def test_a_cluster_that_starts_nothing_it_was_sent_with_a_worker_free_is_restarted(supervisors):
    supervisor, waiting = frozen_host(supervisors)
    delays: list[float] = []
    no_waiting(supervisor, delays)
    first = supervisor.child

    supervisor.tick()  # suspected; confirmed only on the next beat
    assert supervisor.restarts == 0
    supervisor.tick()

    assert supervisor.restarts == 1
    assert first is not None
    assert first.poll() is not None
    assert supervisor.child is not first
    assert Task.objects.get(pk=waiting.pk).status == "pending"  # requeued for the new cluster
    assert any("cluster frozen: work waited 10s" in line for line in supervisors.lines)


def test_a_cluster_that_started_something_or_has_every_worker_busy_is_not_frozen(supervisors):
    supervisor, waiting = frozen_host(supervisors)
    Event.objects.create(kind="task.started", task=TaskFactory(safari_host="studio"))
    for _ in range(3):
        supervisor.tick()
    assert supervisor.restarts == 0

    Event.objects.all().delete()
    busy = TaskFactory(safari_host="studio", status="running", attempt=1)  # its only worker
    for _ in range(3):
        supervisor.tick()
    assert supervisor.restarts == 0
    assert Task.objects.get(pk=waiting.pk).status == "scheduled"
    assert Task.objects.get(pk=busy.pk).status == "running"


def test_a_frozen_cluster_lets_its_running_tasks_finish_within_the_grace(supervisors):
    supervisor, waiting = frozen_host(supervisors)
    supervisor.clusters[0].workers = 2  # one runs a task, one is free
    running = TaskFactory(safari_host="studio", status="running", attempt=1)
    no_waiting(supervisor, [])

    supervisor.tick()
    supervisor.tick()
    assert supervisor.restarts == 0  # its running task may still finish
    assert any("waiting for its 1 running tasks" in line for line in supervisors.lines)

    Task.objects.filter(pk=running.pk).update(status="completed")
    supervisor.tick()
    assert supervisor.restarts == 1
    assert Task.objects.get(pk=waiting.pk).status == "pending"


def test_a_supervisor_whose_host_was_taken_over_stops_its_cluster_and_leaves_the_work(
    supervisors,
):
    """Silent past the lease, another machine's supervisor took the host: this one stops its
    own cluster, and recovers nothing (the host's tasks are the new cluster's now)."""
    supervisor = supervisors()
    runner_error: list[BaseException] = []

    def run() -> None:
        try:
            supervisor.run()
        except hosts.HostTaken as exc:
            runner_error.append(exc)

    runner = threading.Thread(target=run)
    runner.start()
    deadline = time.monotonic() + 30
    while supervisor.child is None and time.monotonic() < deadline:
        time.sleep(0.05)
    child = supervisor.child
    later = timezone.now() + hosts.lease() + timedelta(seconds=1)
    hosts.sign_on("studio", machine="other-mac", pid=4242, workers=1, now=later)
    theirs = TaskFactory(safari_host="studio", status="running", attempt=1, heartbeat_at=later)
    runner.join(timeout=30)

    assert not runner.is_alive()
    assert runner_error
    assert "taken over by another supervisor" in str(runner_error[0])
    assert child is not None
    assert child.poll() is not None
    assert Task.objects.get(pk=theirs.pk).status == "running"
    assert hosts.liveness(timezone.now(), ["studio"])["studio"].state == "online"


def test_a_host_has_one_cluster_per_pool(settings):
    settings.Q_WORKERS = 4
    settings.SCHEDULER = {**settings.SCHEDULER, "RESERVED_WORKERS": 2}
    assert host_pools() == [("main", 2), ("ordinary", 4)]
    settings.SCHEDULER = {**settings.SCHEDULER, "RESERVED_WORKERS": 0}
    assert host_pools() == [("main", 4)]


def test_each_pool_gets_its_own_cluster_and_one_that_exits_restarts_them_all(
    supervisors, tmp_path: Path
):
    """Recovery is per host, so a cluster of one pool never restarts alone: the other's tasks
    would be recovered while they still run."""
    said = tmp_path / "pools"
    tell = (
        "bash",
        "-c",
        f'echo "$SAFARI_HOST $SAFARI_WORKER_POOL" >> {said}; exec sleep 300',
    )
    supervisor = supervisors(tell, pools=(("main", 1), ("ordinary", 3)))
    no_waiting(supervisor, [])
    supervisor.start_clusters()
    deadline = time.monotonic() + 30
    while len(said.read_text().splitlines() if said.exists() else []) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert sorted(said.read_text().splitlines()) == ["studio main", "studio ordinary"]
    assert WorkerHost.objects.get(host="studio").workers == 4
    main, ordinary = (cluster.child for cluster in supervisor.clusters)
    assert main is not None
    assert ordinary is not None

    ordinary.kill()
    ordinary.wait(timeout=30)
    supervisor.tick()

    assert main.poll() is not None  # stopped with it
    assert all(c.child not in (None, main, ordinary) for c in supervisor.clusters)
    assert any("ordinary cluster exited with code -9" in line for line in supervisors.lines)


def test_each_pools_cluster_is_judged_frozen_by_its_own_work(supervisors):
    """The main pool's one worker runs a Safari task; ordinary work sent to the ordinary
    cluster waited 10 s and nothing started: that cluster is frozen, though the host as a whole
    has as many tasks running as the frozen cluster has workers."""
    supervisor = supervisors(CLUSTER_OF_ONE, pools=(("main", 1), ("ordinary", 1)))
    no_waiting(supervisor, [])
    supervisor.start_clusters()
    deadline = time.monotonic() + 30
    while not all(supervisor._cluster_up(cluster) for cluster in supervisor.clusters):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    for cluster in supervisor.clusters:
        assert cluster.since is not None
        cluster.since -= timedelta(seconds=10)
    claimed = timezone.now() - timedelta(seconds=10)
    TaskFactory(
        safari_host="studio", status="running", attempt=1, req_safari_exclusive=True, priority=3
    )
    waiting = TaskFactory(
        safari_host="studio", status="scheduled", attempt=1, claimed_at=claimed, priority=3
    )

    supervisor.tick()
    supervisor.tick()

    assert supervisor.restarts == 1
    assert any("ordinary cluster frozen: work waited 10s" in line for line in supervisors.lines)
    assert Task.objects.get(pk=waiting.pk).status == "pending"
