"""The planning core with several Safari hosts: offline hosts hold their tasks, unpinned
tasks go to an online host whose Safari is free, Safari exclusivity holds per host."""

from datetime import UTC, datetime, timedelta

from scheduler.planning import ANY_HOST, Candidate, ResourceState, plan, project_starts

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HOSTS = ("studio", "laptop")
OFFLINE = "host laptop offline since 11:59:50"


def cand(task_id, lane, host, *, exclusive=True, priority=3):
    return Candidate(
        id=task_id,
        lane=lane,
        priority=priority,
        scheduled_for=NOW,
        created_at=NOW + timedelta(microseconds=task_id),
        safari_host=host,
        safari_exclusive=exclusive,
    )


def test_a_pinned_task_waits_while_its_host_is_offline_and_the_other_host_works():
    tasks = [
        cand(1, "dm|x|a|laptop", "laptop"),
        cand(2, "dm|x|a|laptop", "laptop"),
        cand(3, "check|-|-|laptop", "laptop", exclusive=False),
        cand(4, "dm|x|b|studio", "studio"),
    ]
    result = plan(NOW, tasks, ResourceState(hosts=HOSTS, offline_hosts={"laptop": OFFLINE}))
    assert result.start == (4,)
    assert result.waits[1] == OFFLINE
    assert result.waits[2] == "queued behind #1 in lane dm|x|a|laptop"
    assert result.waits[3] == OFFLINE  # its cluster is gone: no Safari needed, still held


def test_one_safari_task_per_host_two_at_once_across_two_hosts():
    tasks = [
        cand(1, "a|studio", "studio"),
        cand(2, "b|studio", "studio"),
        cand(3, "c|laptop", "laptop"),
        cand(4, "d|laptop", "laptop"),
    ]
    result = plan(NOW, tasks, ResourceState(hosts=HOSTS))
    assert result.start == (1, 3)
    assert result.waits == {2: "Safari on studio is busy", 4: "Safari on laptop is busy"}


def test_unpinned_safari_work_goes_to_whichever_host_is_free():
    tasks = [cand(i, f"check{i}|{ANY_HOST}", ANY_HOST) for i in (1, 2, 3)]
    result = plan(NOW, tasks, ResourceState(hosts=HOSTS, busy_hosts=frozenset({"studio"})))
    assert result.start == (1,)
    assert result.hosts == {1: "laptop"}
    assert result.waits[2] == "Safari is busy on every online host (studio, laptop)"

    both_free = plan(NOW, tasks, ResourceState(hosts=HOSTS))
    assert both_free.start == (1, 2)
    assert both_free.hosts == {1: "studio", 2: "laptop"}


def test_unpinned_work_avoids_an_offline_host_and_waits_when_none_is_online():
    tasks = [cand(1, "c|any", ANY_HOST), cand(2, "n|any", ANY_HOST, exclusive=False)]
    result = plan(NOW, tasks, ResourceState(hosts=HOSTS, offline_hosts={"laptop": OFFLINE}))
    assert result.hosts == {1: "studio", 2: "studio"}

    gone = {"studio": "host studio stopped since 11:00:00", "laptop": OFFLINE}
    result = plan(NOW, tasks, ResourceState(hosts=HOSTS, offline_hosts=gone))
    assert result.start == ()
    assert (
        result.waits[1] == f"no Safari host online: host studio stopped since 11:00:00; {OFFLINE}"
    )


def test_unpinned_work_that_needs_no_safari_is_spread_over_the_online_hosts():
    tasks = [cand(i, f"n{i}|any", ANY_HOST, exclusive=False) for i in (1, 2, 3, 4)]
    result = plan(NOW, tasks, ResourceState(hosts=HOSTS))
    assert sorted(result.hosts.values()) == ["laptop", "laptop", "studio", "studio"]


def test_the_projection_gives_no_start_on_an_offline_host_and_puts_unpinned_work_elsewhere():
    tasks = [cand(1, "a|laptop", "laptop"), cand(2, "b|any", ANY_HOST), cand(3, "c|any", ANY_HOST)]
    resources = ResourceState(hosts=HOSTS, offline_hosts={"laptop": OFFLINE})
    projected = project_starts(
        NOW,
        tasks,
        resources,
        durations={},
        default_duration=timedelta(minutes=1),
    )
    assert (projected[1].start, projected[1].reason) == (None, OFFLINE)
    assert projected[2].start == NOW  # on studio, the only online host
    assert projected[3].start == NOW + timedelta(minutes=1)


def test_unpinned_work_goes_to_the_host_with_the_least_of_its_pool_in_flight():
    """Unpinned ordinary work goes where its pool has the least in flight (studio is first
    configured, but busier); unpinned urgent work goes to a host with a reserved worker free,
    and waits once every host's reserve is taken."""
    tasks = [cand(1, f"check|-|-|{ANY_HOST}", ANY_HOST, exclusive=False)]
    resources = ResourceState(hosts=HOSTS, reserved_workers=2, queued_busy={"studio": 3})
    result = plan(NOW, tasks, resources)
    assert (result.start, result.hosts) == ((1,), {1: "laptop"})

    urgent = [
        Candidate(
            id=2,
            lane=f"check|-|-|{ANY_HOST}",
            priority=1,
            scheduled_for=NOW,
            created_at=NOW,
            safari_host=ANY_HOST,
        )
    ]
    studio_full = ResourceState(
        hosts=HOSTS, reserved_workers=2, reserved_busy={"studio": 2}, busy_hosts=frozenset()
    )
    result = plan(NOW, urgent, studio_full)
    assert (result.start, result.hosts) == ((2,), {2: "laptop"})

    both = ResourceState(hosts=HOSTS, reserved_workers=2, reserved_busy={"studio": 2, "laptop": 2})
    result = plan(NOW, urgent, both)
    assert result.start == ()
    assert "kept for Safari and urgent work" in result.waits[2]


def test_with_every_host_offline_unpinned_work_says_which_and_since_when():
    """The dispatcher offers unpinned work only the online hosts: with none, the reason names
    the offline ones (not an empty list)."""
    tasks = [cand(1, f"check|-|-|{ANY_HOST}", ANY_HOST, exclusive=False)]
    result = plan(NOW, tasks, ResourceState(hosts=(), offline_hosts={"laptop": OFFLINE}))
    assert result.waits[1] == f"no Safari host online: {OFFLINE}"
