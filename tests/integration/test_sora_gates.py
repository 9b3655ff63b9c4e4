"""Credit reservation and the all-or-nothing gate, through the probe and the pure planner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from scheduler import registry
from scheduler.models import Task, TaskStatus
from scheduler.planning import Candidate, ResourceState, plan
from sora import estimation, gates, selectors, services
from sora.models import CreditSnapshot, Video

pytestmark = pytest.mark.django_db
NOW = datetime(2025, 3, 10, 1, 0, tzinfo=UTC)


def _reading(
    remaining: int | None,
    *,
    free: int | None = None,
    at: datetime = NOW,
    hint: datetime | None = None,
) -> CreditSnapshot:
    reading = (
        estimation.Reading(
            remaining=remaining,
            free=free,
            paid=None if free is None else remaining - free,
            refreshes_at=hint,
        )
        if remaining is not None
        else (estimation.Reading(remaining=None))
    )
    return services.snapshot_record(reading=reading, now=at)


def _candidate(task: Task) -> Candidate:
    task_type = registry.task_type(task.type)
    assert task_type is not None
    return Candidate(
        id=task.pk,
        lane=task.lane,
        priority=task.priority,
        scheduled_for=task.scheduled_for,
        created_at=task.created_at,
        safari_host=task.safari_host,
        safari_exclusive=task.req_safari_exclusive,
        needs=dict(task_type.needs(task)) if task_type.needs else {},
    )


def _plan(now: datetime = NOW, extra: tuple[Candidate, ...] = ()):  # type: ignore[no-untyped-def]
    ready = Task.objects.filter(status=TaskStatus.PENDING, pending_deps=0, type="sora")
    candidates = [_candidate(t) for t in ready] + list(extra)
    keys = {key for c in candidates for key in c.needs}
    busy = frozenset(
        Task.objects.filter(holds_safari=True, status__in=["scheduled", "running"]).values_list(
            "safari_host", flat=True
        )
    )
    return plan(
        now, candidates, ResourceState(busy_hosts=busy, gates=registry.read_gates(keys, now))
    )


def _dm(pk: int = 10_000) -> Candidate:
    return Candidate(
        id=pk,
        lane="dm|tiktok|-|local",
        priority=3,
        scheduled_for=NOW,
        created_at=NOW,
        safari_exclusive=True,
        platform="tiktok",
    )


def _queue(slug: str = "first_contact", **kw: object):  # type: ignore[no-untyped-def]
    with time_machine.travel(NOW, tick=False):
        return services.trilogy_queue(slug=slug, **kw)  # type: ignore[arg-type]


def _claim(task_id: int) -> None:
    assert Task.objects.filter(pk=task_id, status="pending").update(
        status="scheduled", attempt=1, holds_safari=True
    )


def test_the_first_part_needs_every_credit_of_its_trilogy_later_parts_only_a_slot(
    sample_trilogies: list[str],
) -> None:
    queued = _queue()
    first, second, third = (Task.objects.get(pk=pk) for pk in queued.task_ids)
    assert gates.video_needs(first) == {"sora:slots": 1, "sora:credits": 3, "sora:admission": 3}
    assert gates.video_needs(second) == {"sora:slots": 1}
    assert first.priority == 2
    assert list(second.dependencies.values_list("pk", flat=True)) == [first.pk]
    assert list(third.dependencies.values_list("pk", flat=True)) == [second.pk]
    assert (second.pending_deps, third.pending_deps) == (1, 1)


def test_short_of_credits_the_trilogy_waits_with_its_reason_while_dms_run(
    sample_trilogies: list[str],
) -> None:
    hint = NOW + timedelta(hours=3, minutes=10)
    _reading(2, free=2, hint=hint)
    first = _queue().task_ids[0]
    result = _plan(extra=(_dm(),))
    assert result.start == (10_000,)
    assert result.waits[first] == "needs 3 credits, 2 free, refresh ≈ 04:10"


def test_the_whole_trilogy_is_admitted_when_its_credits_are_there(
    sample_trilogies: list[str],
) -> None:
    _reading(3, free=3)
    first = _queue().task_ids[0]
    assert _plan().start == (first,)


def test_two_trilogies_compete_for_credits_all_or_nothing(sample_trilogies: list[str]) -> None:
    _reading(5, free=5)
    a = _queue("first_contact").task_ids[0]
    b = _queue("volcanic_fury").task_ids[0]
    result = _plan()
    assert result.start == (a,)
    assert b in result.waits
    # Once A is claimed, the probe already counts A's three credits (not yet written down).
    _claim(a)
    assert selectors.credits_reserved(as_of=NOW) == 3
    assert gates.credits_gate(NOW).available == 2
    # A starts: the reservation is stored; it stays until A's parts are submitted.
    services.run_admit(run_id=Task.objects.get(pk=a).video.run_id, now=NOW)
    Task.objects.filter(pk=a).update(status="running", holds_safari=False)  # generating
    assert selectors.credits_reserved(as_of=NOW) == 3
    assert "needs 3 credits, 2 free" in _plan().waits[b]


def test_a_reading_after_a_submit_no_longer_subtracts_that_part(
    sample_trilogies: list[str],
) -> None:
    _reading(5, free=5)
    first = _queue().task_ids[0]
    video = Task.objects.get(pk=first).video
    _claim(first)
    services.run_admit(run_id=video.run_id, now=NOW)
    services.video_submitted(video_id=video.pk, command_id="cmd_1", now=NOW + timedelta(minutes=1))
    # The old reading did not see the submit: all 3 still count.
    assert gates.credits_gate(NOW).available == 2
    # A new reading saw part 1 spend its credit: 4 remaining, 2 reserved.
    _reading(4, free=4, at=NOW + timedelta(minutes=2))
    assert selectors.credit_state(now=NOW).available == 2


def test_a_trilogy_that_fails_gives_back_the_credits_it_never_used(
    sample_trilogies: list[str],
) -> None:
    from scheduler.lifecycle import transition

    _reading(3, free=3)
    first = _queue().task_ids[0]
    _claim(first)
    services.run_admit(run_id=Task.objects.get(pk=first).video.run_id, now=NOW)
    assert gates.credits_gate(NOW).available == 0
    transition(first, source=["scheduled"], target="failed", kind="task.failed", error="x")
    assert Task.objects.filter(status="failed").count() == 3  # dependents fail with it
    assert gates.credits_gate(NOW).available == 3


def test_unknown_credits_close_the_gate_and_queue_a_check_never_zero(
    sample_trilogies: list[str],
) -> None:
    first = _queue().task_ids[0]
    assert _plan().waits[first] == "credits unknown — checking"
    assert Task.objects.filter(type="sora_check", status="pending").count() == 1
    _reading(None)
    gate = gates.credits_gate(NOW)
    assert (gate.available, gate.reason) == (0, "credits unknown — checking")
    assert selectors.credits_summary(now=NOW)["credits"]["totalCredits"] is None  # type: ignore[index]


def test_with_nothing_left_the_gate_opens_at_the_refresh_estimate(
    sample_trilogies: list[str],
) -> None:
    hint = NOW + timedelta(hours=2)
    _reading(0, free=0, hint=hint)
    first = _queue().task_ids[0]
    result = _plan()
    assert first in result.waits
    assert result.next_change == hint


def test_three_generating_parts_fill_the_sora_slots(sample_trilogies: list[str]) -> None:
    _reading(30, free=30)
    firsts = [_queue(slug).task_ids[0] for slug in sample_trilogies]
    for pk in firsts:
        Task.objects.filter(pk=pk).update(status="running", attempt=1)
        services.run_admit(run_id=Video.objects.get(task_id=pk).run_id, now=NOW)
    assert gates.slots_gate().available == 0
    # A fourth trilogy's first part waits for a slot, not for credits.
    _queue("first_contact", idempotency_key="again")
    waits = _plan().waits
    assert any("Sora generation slots are busy" in reason for reason in waits.values())
