"""The pure planning core keeps workers for Safari work and urgent tasks: long ordinary
tasks (not Safari, priority 3-5) never take every worker of a Safari host."""

from datetime import UTC, datetime

from scheduler.planning import Candidate, HostLoad, ResourceState, plan

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def cand(task_id, *, lane=None, priority=3, host="studio", safari=False):
    return Candidate(
        id=task_id,
        lane=lane or f"lane{task_id}",
        priority=priority,
        scheduled_for=NOW,
        created_at=NOW,
        safari_host=host,
        safari_exclusive=safari,
    )


def workers(reserve, *, busy=0, ordinary=0, safari_busy=False, per_host=4):
    return ResourceState(
        busy_hosts=frozenset({"studio"}) if safari_busy else frozenset(),
        workers_per_host=per_host,
        reserved_workers=reserve,
        host_load={"studio": HostLoad(busy=busy, ordinary=ordinary)},
    )


def test_ordinary_work_leaves_the_reserve_free_and_says_why():
    checks = [cand(i) for i in range(1, 5)]
    result = plan(NOW, checks, workers(1))
    assert result.start == (1, 2, 3)
    assert result.waits[4] == (
        "waiting: 3 of 4 workers on studio busy (3 with ordinary work); "
        "1 kept for Safari and urgent tasks"
    )


def test_a_safari_task_gets_the_kept_worker_while_ordinary_work_fills_the_rest():
    result = plan(NOW, [cand(9, priority=1, safari=True)], workers(1, busy=3, ordinary=3))
    assert result.start == (9,)


def test_the_reserve_counts_ordinary_work_already_running():
    result = plan(NOW, [cand(5)], workers(2, busy=2, ordinary=2))
    assert result.start == ()
    assert "2 kept for Safari and urgent tasks" in result.waits[5]


def test_urgent_work_uses_the_reserve_but_leaves_the_last_worker_to_safari():
    tasks = [cand(1, priority=2), cand(2, priority=1)]
    result = plan(NOW, tasks, workers(2, busy=2, ordinary=2))
    assert result.start == (2,)
    assert result.waits[1] == (
        "waiting: 3 of 4 workers on studio busy; the last one is kept for Safari work"
    )


def test_urgent_work_may_take_the_last_worker_while_safari_is_taken_anyway():
    # The Safari holder gives its worker back when it ends, before the next Safari task.
    result = plan(NOW, [cand(1, priority=1)], workers(2, busy=3, ordinary=2, safari_busy=True))
    assert result.start == (1,)


def test_nothing_starts_on_a_host_whose_workers_are_all_busy():
    result = plan(NOW, [cand(1, priority=1, safari=True)], workers(1, busy=4, ordinary=3))
    assert result.waits[1] == "waiting: all 4 workers on studio are busy"


def test_each_host_keeps_its_own_reserve():
    tasks = [cand(1), cand(2, host="laptop"), cand(3, host="laptop")]
    result = plan(NOW, tasks, workers(1, busy=3, ordinary=3))
    assert result.start == (2, 3)
    assert "studio" in result.waits[1]


def test_no_reserve_counts_no_workers_and_queues_ahead_of_them():
    tasks = [cand(i) for i in range(1, 7)]
    assert plan(NOW, tasks, workers(0, busy=4, ordinary=4)).start == (1, 2, 3, 4, 5, 6)


def test_a_reserve_as_large_as_the_workers_still_leaves_ordinary_work_one():
    assert plan(NOW, [cand(1), cand(2)], workers(9, per_host=2)).start == (1,)


def test_one_worker_keeps_nothing_back():
    assert plan(NOW, [cand(1), cand(2)], workers(1, per_host=1)).start == (1, 2)


def test_workers_are_not_counted_when_their_number_is_unknown():
    tasks = [cand(i) for i in range(1, 7)]
    assert len(plan(NOW, tasks, ResourceState()).start) == 6
