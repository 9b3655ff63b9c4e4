"""The queue projected forward: expected starts for the dashboard (pure, no database)."""

from datetime import UTC, datetime, timedelta

from scheduler.planning import Candidate, Gate, Pauses, ResourceState, project_starts

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)


def cand(task_id, lane="dm|tiktok|-|local", *, priority=3, at=NOW, exclusive=True, **kw):
    return Candidate(
        id=task_id,
        lane=lane,
        priority=priority,
        scheduled_for=at,
        created_at=NOW - timedelta(hours=1) + timedelta(seconds=task_id),
        safari_exclusive=exclusive,
        **kw,
    )


def project(tasks, resources=None, *, durations=None, busy_until=None):
    return project_starts(
        NOW,
        tasks,
        resources or ResourceState(),
        durations=durations or {},
        default_duration=2 * MIN,
        busy_until=busy_until,
    )


def test_safari_tasks_on_one_host_start_one_after_another():
    starts = project([cand(1), cand(2), cand(3, lane="comment|x|-|local")])
    assert [starts[i].start for i in (1, 2, 3)] == [NOW, NOW + 2 * MIN, NOW + 4 * MIN]


def test_priority_wins_among_tasks_ready_at_the_same_time():
    starts = project([cand(1, priority=3), cand(2, lane="sora|-|-|local", priority=1)])
    assert starts[2].start == NOW
    assert starts[1].start == NOW + 2 * MIN


def test_a_future_task_does_not_hold_up_a_ready_one():
    starts = project([cand(1, priority=1, at=NOW + 10 * MIN), cand(2, lane="other", priority=5)])
    assert starts[2].start == NOW
    assert starts[1].start == NOW + 10 * MIN


def test_the_lane_duration_is_used_and_a_busy_host_delays_the_queue():
    starts = project(
        [cand(1), cand(2)],
        durations={"dm|tiktok|-|local": 5 * MIN},
        busy_until={"local": NOW + 3 * MIN},
    )
    assert starts[1].start == NOW + 3 * MIN
    assert starts[2].start == NOW + 8 * MIN


def test_tasks_that_need_no_safari_start_when_due_even_while_safari_is_busy():
    starts = project(
        [cand(1, lane="probe", exclusive=False), cand(2)], busy_until={"local": NOW + 5 * MIN}
    )
    assert starts[1].start == NOW
    assert starts[2].start == NOW + 5 * MIN


def test_hosts_run_in_parallel():
    starts = project([cand(1), cand(2, lane="dm|x|-|mac2", safari_host="mac2")])
    assert starts[1].start == NOW
    assert starts[2].start == NOW


def test_a_cooldown_gate_delays_the_lane_until_it_opens():
    resources = ResourceState(
        gates={"dm:tiktok": Gate(available=0, ready_at=NOW + 30 * MIN, reason="cooldown")}
    )
    tasks = [cand(1, needs={"dm:tiktok": 1}), cand(2, needs={"dm:tiktok": 1}), cand(3, "b")]
    starts = project(tasks, resources)
    assert starts[3].start == NOW
    assert starts[1].start == NOW + 30 * MIN
    assert starts[2].start == NOW + 32 * MIN


def test_a_pause_or_a_closed_gate_gives_no_estimate_and_says_why():
    resources = ResourceState(
        pauses=Pauses(platforms={"tiktok": "user break"}),
        gates={"sora:credits": Gate(available=1, reason="waiting for credits")},
    )
    tasks = [
        cand(1, platform="tiktok"),
        cand(2, platform="tiktok"),
        cand(3, "sora", needs={"sora:credits": 3}),
        cand(4, "other"),
    ]
    starts = project(tasks, resources)
    assert starts[1].start is None
    assert starts[1].reason == "paused: user break"
    assert starts[2].reason == "behind #1: paused: user break"
    assert starts[3].start is None
    assert starts[3].reason == "waiting for credits"
    assert starts[4].start == NOW


def test_a_gate_with_enough_left_does_not_delay():
    resources = ResourceState(gates={"sora:credits": Gate(available=5)})
    starts = project([cand(1, needs={"sora:credits": 3})], resources)
    assert starts[1].start == NOW


def test_a_long_queue_projects_in_linear_ish_time():
    tasks = [cand(i, lane=f"lane{i % 7}") for i in range(1, 3001)]
    starts = project(tasks)
    assert len(starts) == 3000
    assert max(p.start for p in starts.values() if p.start) == NOW + 2 * MIN * 2999
