"""The dispatcher with two Safari hosts: an offline host's tasks wait with the reason and its
claims are reaped within the host lease; unpinned work goes to a host whose Safari is free."""

from datetime import timedelta

import pytest
from django.utils import timezone

from scheduler import hosts, registry, services
from scheduler.dispatcher import Dispatcher
from scheduler.handlers import check
from scheduler.models import Event, Task
from scheduler.registry import TaskType
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def two_hosts(settings):
    settings.SAFARI_HOSTS = ["studio", "laptop"]
    settings.SAFARI_HOST = "studio"
    settings.SCHEDULER = {**settings.SCHEDULER, "HEARTBEAT_SECONDS": 1.0}
    registry.register_task_type(TaskType("safari_job", check, safari_exclusive=True))


def dispatcher(sent):
    return Dispatcher(name="d1", enqueue_fn=lambda *args: sent.append(args))


def gone_quiet(host, now):
    """`host` signed on and beat last more than one host lease before `now`."""
    then = now - hosts.lease() - timedelta(seconds=1)
    hosts.sign_on(host, machine="mac", pid=1, workers=2, now=then)
    return then


def test_an_offline_hosts_tasks_wait_with_the_reason_and_its_claims_are_reaped(run_on_commit):
    now = timezone.now()
    hosts.sign_on("studio", machine="mac1", pid=1, workers=2, now=now)
    last_seen = gone_quiet("laptop", now)
    silent = now - timedelta(seconds=3)  # two heartbeats missed; the timeout is 30 s
    running = TaskFactory(
        type="safari_job", safari_host="laptop", status="running", attempt=1,
        heartbeat_at=silent, claimed_at=silent, holds_safari=True, req_safari_exclusive=True,
    )  # fmt: skip
    claimed = TaskFactory(safari_host="laptop", status="scheduled", attempt=1, claimed_at=now)
    queued, _ = services.task_schedule(type="safari_job", safari_host="laptop")
    elsewhere, _ = services.task_schedule(type="safari_job", safari_host="studio")

    sent = []
    d = dispatcher(sent)
    run_on_commit(d.cycle)  # a moment after `now`: the new tasks are due
    reason = f"host laptop offline since {timezone.localtime(last_seen):%H:%M:%S}"
    running.refresh_from_db()
    assert running.status == "pending"  # retried later, not after the 120 s claim lease
    assert reason in running.error
    assert not running.holds_safari
    claimed.refresh_from_db()
    assert claimed.status == "pending"
    assert Event.objects.filter(task=claimed, kind="task.reclaimed").get().message == (
        f"{reason}; back in the queue"
    )
    assert Task.objects.get(pk=queued.pk).wait_reason == reason
    assert [task_id for task_id, *_ in sent] == [elsewhere.pk]  # studio keeps working

    d.cycle()
    Dispatcher(name="d2", enqueue_fn=lambda *a: None).cycle()
    offline = Event.objects.filter(kind="host.offline", subject_id="laptop")
    assert offline.count() == 1  # once, whichever dispatcher saw it
    assert offline.get().message.startswith(reason)


def test_a_running_task_on_an_offline_host_that_still_beats_is_left_alone():
    now = timezone.now()
    gone_quiet("laptop", now)
    alive = TaskFactory(
        safari_host="laptop", status="running", attempt=1, heartbeat_at=now, claimed_at=now
    )
    Dispatcher(name="d1", enqueue_fn=lambda *a: None).cycle(now)
    assert Task.objects.get(pk=alive.pk).status == "running"


def test_a_host_never_seen_is_not_held(run_on_commit):
    task, _ = services.task_schedule(type="safari_job", safari_host="laptop")
    sent = []
    run_on_commit(dispatcher(sent).cycle)
    assert [task_id for task_id, *_ in sent] == [task.pk]


def test_unpinned_safari_work_runs_on_whichever_host_is_free_and_the_claim_names_it(
    run_on_commit,
):
    a, _ = services.task_schedule(type="safari_job")
    b, _ = services.task_schedule(type="safari_job")
    c, _ = services.task_schedule(type="safari_job")
    pinned, _ = services.task_schedule(type="safari_job", safari_host="studio")
    assert (a.safari_host, a.lane) == ("any", "safari_job|-|-|any")
    sent = []
    d = dispatcher(sent)
    run_on_commit(d.cycle)
    assert sorted((task_id, host) for task_id, _, _, host in sent) == [
        (a.pk, "studio"),
        (b.pk, "laptop"),
    ]
    rows = {t.pk: t for t in Task.objects.all()}
    assert (rows[a.pk].safari_host, rows[a.pk].holds_safari) == ("studio", True)
    assert (rows[b.pk].safari_host, rows[b.pk].holds_safari) == ("laptop", True)
    assert rows[c.pk].wait_reason == "Safari is busy on every online host (studio, laptop)"
    assert rows[pinned.pk].wait_reason == "Safari on studio is busy"

    # laptop frees: the next unpinned task goes there, though its row said nothing of it.
    Task.objects.filter(pk=b.pk).update(status="completed", holds_safari=False)
    sent.clear()
    run_on_commit(d.cycle)
    assert [(task_id, host) for task_id, _, _, host in sent] == [(c.pk, "laptop")]


def test_an_unknown_host_is_refused_and_any_is_accepted():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="unknown Safari host 'attic'"):
        services.task_schedule(type="check", safari_host="attic")
    task, _ = services.task_schedule(type="check", safari_host="any")
    assert task.safari_host == "any"


def test_status_and_resources_say_which_host_is_offline_and_since_when():
    from io import StringIO

    from django.core.management import call_command

    now = timezone.now()
    hosts.sign_on("studio", machine="mac1", pid=1, workers=2, now=now)
    last_seen = gone_quiet("laptop", now)
    reason = f"host laptop offline since {timezone.localtime(last_seen):%H:%M:%S}"

    def run(*args):
        out = StringIO()
        call_command("scheduler", *args, stdout=out)
        return out.getvalue()

    assert f"Held: {reason}: its tasks wait" in run("status")
    table = run("resources")
    assert "studio" in table
    assert "online" in table
    assert reason in table
    states = {h["host"]: h["state"] for h in services_state()}
    assert states == {"studio": "online", "laptop": "offline"}


def services_state():
    from scheduler import selectors

    return selectors.scheduler_state()["safariHosts"]
