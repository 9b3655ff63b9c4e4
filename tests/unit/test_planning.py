"""The pure planning core: no database, no clock."""

from datetime import UTC, datetime, time, timedelta

import pytest

from scheduler.planning import (
    Candidate,
    Gate,
    Pauses,
    ResourceState,
    active_window,
    backoff,
    plan,
)

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def cand(task_id, *, lane="dm|twitter|-|local", priority=3, at=NOW, created=None, **kw):
    return Candidate(
        id=task_id,
        lane=lane,
        priority=priority,
        scheduled_for=at,
        created_at=created or at,
        **kw,
    )


def test_it_starts_the_highest_priority_then_the_earliest():
    tasks = [
        cand(1, lane="a", priority=3, at=NOW - timedelta(minutes=5)),
        cand(2, lane="b", priority=1, at=NOW - timedelta(minutes=1)),
        cand(3, lane="c", priority=3, at=NOW - timedelta(minutes=9)),
    ]
    result = plan(NOW, tasks, ResourceState(free_slots=2))
    assert result.start == (2, 3)
    assert result.waits == {1: "all workers are busy"}


def test_creation_time_breaks_ties():
    tasks = [
        cand(1, lane="a", created=NOW - timedelta(seconds=1)),
        cand(2, lane="b", created=NOW - timedelta(seconds=2)),
    ]
    assert plan(NOW, tasks, ResourceState(free_slots=1)).start == (2,)


def test_only_one_safari_task_starts_per_host_and_others_wait_with_a_reason():
    tasks = [
        cand(1, lane="dm", safari_exclusive=True),
        cand(2, lane="comment", safari_exclusive=True),
        cand(3, lane="probe", safari_exclusive=False),
        cand(4, lane="dm2", safari_exclusive=True, safari_host="studio"),
    ]
    result = plan(NOW, tasks, ResourceState())
    assert result.start == (1, 3, 4)
    assert result.waits[2] == "Safari on local is busy"


def test_a_busy_host_blocks_safari_tasks_but_not_other_lanes():
    tasks = [cand(1, lane="dm", safari_exclusive=True), cand(2, lane="webhook")]
    result = plan(NOW, tasks, ResourceState(busy_hosts=frozenset({"local"})))
    assert result.start == (2,)
    assert "busy" in result.waits[1]


def test_a_waiting_head_holds_its_lane_but_not_the_others():
    gate = {"platform:twitter": Gate(available=0, reason="X: hourly cap 15 reached")}
    tasks = [
        cand(1, lane="x", needs={"platform:twitter": 1}, priority=2),
        cand(2, lane="x", needs={"platform:twitter": 1}),
        cand(3, lane="tiktok", needs={"platform:tiktok": 1}),
    ]
    result = plan(NOW, tasks, ResourceState(gates=gate))
    assert result.start == (3,)
    assert result.waits[1] == "X: hourly cap 15 reached"
    assert result.waits[2] == "queued behind #1 in lane x"


def test_gates_count_down_within_one_cycle():
    gates = {"sora:slots": Gate(available=2)}
    tasks = [cand(i, lane=f"l{i}", needs={"sora:slots": 1}) for i in (1, 2, 3)]
    result = plan(NOW, tasks, ResourceState(gates=gates))
    assert result.start == (1, 2)
    assert result.waits[3] == "needs 1 sora:slots, 0 available"


def test_a_trilogy_waits_for_all_its_credits_while_dms_flow():
    gates = {"sora:credits": Gate(available=1, reason="needs 3 credits, 1 free")}
    tasks = [
        cand(1, lane="sora", priority=2, needs={"sora:credits": 3}, safari_exclusive=True),
        cand(2, lane="dm", priority=3, safari_exclusive=True),
    ]
    result = plan(NOW, tasks, ResourceState(gates=gates))
    assert result.start == (2,)
    assert result.waits[1] == "needs 3 credits, 1 free"


def test_an_admitted_trilogy_part_goes_before_dms():
    gates = {"sora:credits": Gate(available=3)}
    tasks = [
        cand(2, lane="dm", priority=3, safari_exclusive=True, at=NOW - timedelta(hours=1)),
        cand(1, lane="sora", priority=2, needs={"sora:credits": 3}, safari_exclusive=True),
    ]
    assert plan(NOW, tasks, ResourceState(gates=gates)).start == (1,)


def test_a_gate_closed_until_a_time_sets_the_next_change():
    ready = NOW + timedelta(minutes=7)
    gates = {"platform:x": Gate(available=1, ready_at=ready, reason="X: next slot 12:07")}
    result = plan(NOW, [cand(1, needs={"platform:x": 1})], ResourceState(gates=gates))
    assert result.start == ()
    assert result.waits[1] == "X: next slot 12:07"
    assert result.next_change == ready


def test_next_change_is_the_earliest_of_due_times_and_gates():
    soon = NOW + timedelta(seconds=30)
    result = plan(
        NOW,
        [cand(1, at=NOW + timedelta(minutes=5))],
        ResourceState(),
        next_due=soon,
    )
    assert result.start == ()
    assert result.next_change == soon


def test_nothing_waiting_means_no_next_change():
    assert plan(NOW, [], ResourceState()).next_change is None


@pytest.mark.parametrize(
    ("pauses", "expected"),
    [
        (Pauses(everything="holiday"), "paused: holiday"),
        (Pauses(platforms={"twitter": "X: logged out"}), "paused: X: logged out"),
        (Pauses(accounts={("twitter", "main"): "cooling"}), "paused: cooling"),
    ],
)
def test_pauses_hold_tasks_with_their_reason(pauses, expected):
    task = cand(1, platform="twitter", account="main")
    result = plan(NOW, [task], ResourceState(pauses=pauses))
    assert result.start == ()
    assert result.waits[1] == expected


def test_a_platform_pause_leaves_other_platforms_running():
    tasks = [
        cand(1, lane="x", platform="twitter"),
        cand(2, lane="t", platform="tiktok"),
    ]
    result = plan(NOW, tasks, ResourceState(pauses=Pauses(platforms={"twitter": "down"})))
    assert result.start == (2,)


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    delays = [backoff(n, base=30, cap=600, jitter=1.0).total_seconds() for n in range(1, 7)]
    assert delays == [30, 60, 120, 240, 480, 600]
    low = backoff(3, base=30, cap=600, jitter=0.0).total_seconds()
    assert low == 60  # half of 120: equal jitter never drops below d/2
    assert backoff(500, base=30, cap=600, jitter=0.5).total_seconds() == 450


NY = "America/New_York"


def test_active_hours_open_and_close_in_the_accounts_zone():
    nine_am_ny = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)  # 09:00 EST
    window = active_window(nine_am_ny, NY, time(9), time(21))
    assert window.is_open
    assert window.closes_at == datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    before = active_window(nine_am_ny - timedelta(minutes=1), NY, time(9), time(21))
    assert not before.is_open
    assert before.opens_at == nine_am_ny


def test_active_hours_cross_the_spring_dst_change():
    # 2026-03-08: New York springs forward at 02:00 (EST -5 → EDT -4).
    saturday_night = datetime(2026, 3, 8, 2, 30, tzinfo=UTC)  # 21:30 EST on the 7th
    window = active_window(saturday_night, NY, time(9), time(21))
    assert not window.is_open
    # 09:00 on the 8th is EDT: 13:00 UTC, not 14:00.
    assert window.opens_at == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)


def test_active_hours_cross_the_autumn_dst_change():
    # 2026-11-01: New York falls back at 02:00 (EDT -4 → EST -5).
    window = active_window(datetime(2026, 11, 1, 3, 0, tzinfo=UTC), NY, time(9), time(21))
    assert window.opens_at == datetime(2026, 11, 1, 14, 0, tzinfo=UTC)
    assert window.closes_at == datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def test_a_window_past_midnight_is_open_after_midnight():
    late = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    window = active_window(late, "UTC", time(22), time(2))
    assert window.is_open
    assert window.closes_at == datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def test_a_window_skipped_by_dst_opens_right_after_the_gap():
    # 02:30 does not exist in New York on 2026-03-08; it opens at 03:30 EDT (07:30 UTC).
    night = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)
    window = active_window(night, NY, time(2, 30), time(4))
    assert window.opens_at == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)
