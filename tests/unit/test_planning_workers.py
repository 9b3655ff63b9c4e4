"""The pure planning core keeps workers for Safari work and urgent tasks: ordinary work (not
Safari, priority 3-5) runs in a pool of its own, so however long it runs and however much of
it is queued, Safari work and urgent tasks find a worker of their host's reserve."""

from datetime import UTC, datetime

import pytest

from scheduler.planning import (
    MAIN_POOL,
    ORDINARY_POOL,
    Candidate,
    ResourceState,
    plan,
    pool_of,
)

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


def workers(reserve, *, taken=0, safari_busy=False, free_slots=64, queued=0):
    return ResourceState(
        busy_hosts=frozenset({"studio"}) if safari_busy else frozenset(),
        free_slots=free_slots,
        reserved_workers=reserve,
        reserved_busy={"studio": taken},
        queued_busy={"studio": queued},
    )


@pytest.mark.parametrize(
    ("safari", "priority", "reserve", "pool"),
    [
        (True, 5, 2, MAIN_POOL),
        (False, 1, 2, MAIN_POOL),
        (False, 2, 3, MAIN_POOL),
        (False, 3, 2, ORDINARY_POOL),
        (False, 1, 1, ORDINARY_POOL),  # one reserved worker is Safari's alone
        (True, 1, 1, MAIN_POOL),
        (False, 5, 0, MAIN_POOL),  # nothing reserved: one pool runs everything
        (True, 1, 0, MAIN_POOL),
    ],
)
def test_each_task_has_one_pool(safari, priority, reserve, pool):
    assert pool_of(safari_exclusive=safari, priority=priority, reserved_workers=reserve) == pool


def test_ordinary_work_queues_in_its_own_pool_and_never_counts_the_reserve():
    checks = [cand(i) for i in range(1, 9)]
    result = plan(NOW, checks, workers(2, taken=2))
    assert result.start == tuple(range(1, 9))


def test_ordinary_work_waits_only_for_in_flight_slots():
    result = plan(NOW, [cand(1), cand(2)], workers(2, free_slots=1))
    assert result.start == (1,)
    assert result.waits[2] == "all workers are busy"


def test_a_safari_task_starts_however_much_ordinary_work_fills_the_slots():
    tasks = [cand(1), cand(9, priority=3, safari=True)]
    result = plan(NOW, tasks, workers(2, free_slots=0, queued=64))
    assert result.start == (9,)
    assert result.waits[1] == "all workers are busy"


def test_urgent_work_uses_the_reserve_but_leaves_the_last_worker_to_safari():
    tasks = [cand(1, priority=2), cand(2, priority=1)]
    result = plan(NOW, tasks, workers(2, free_slots=0))
    assert result.start == (2,)
    assert result.waits[1] == (
        "waiting: 1 of 2 workers kept for Safari and urgent work on studio busy; "
        "the last one is kept for Safari work"
    )


def test_urgent_work_may_take_the_last_worker_while_safari_is_taken_anyway():
    # The Safari holder gives its worker back when it ends, before the next Safari task.
    result = plan(NOW, [cand(1, priority=1)], workers(3, taken=2, safari_busy=True))
    assert result.start == (1,)


def test_nothing_starts_on_the_reserve_while_all_of_it_is_busy():
    result = plan(NOW, [cand(1, priority=1, safari=True)], workers(2, taken=2))
    assert result.waits[1] == (
        "waiting: all 2 workers kept for Safari and urgent work on studio are busy"
    )


def test_with_one_reserved_worker_urgent_work_without_safari_queues_with_ordinary_work():
    result = plan(NOW, [cand(1, priority=1)], workers(1, taken=1))
    assert result.start == (1,)


def test_each_host_keeps_its_own_reserve():
    tasks = [cand(1, priority=1, safari=True), cand(2, priority=1, safari=True, host="laptop")]
    result = plan(NOW, tasks, workers(2, taken=2))
    assert result.start == (2,)
    assert "studio" in result.waits[1]


def test_no_reserve_counts_no_workers_and_everything_queues_in_one_pool():
    tasks = [cand(i) for i in range(1, 7)] + [cand(7, priority=1, safari=True)]
    assert plan(NOW, tasks, workers(0, taken=9)).start == (7, 1, 2, 3, 4, 5, 6)
    waiting = plan(NOW, [cand(7, priority=1, safari=True)], workers(0, free_slots=0))
    assert waiting.waits[7] == "all workers are busy"
