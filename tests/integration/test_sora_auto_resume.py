"""Auto-resume through the scheduler's own dispatcher (plan → claim) and runner: credits at
0, so the trilogy waits while DMs run; the simulator refreshes; the check sees it; the three
parts then run in order, each claimed ahead of any waiting DM; a generating part leaves Safari
to the DMs.

The DMs are stand-ins: the scheduler's built-in `check` task made Safari-exclusive in a
platform lane. The full run with workers and real DM handlers belongs in e2e.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from scheduler.dispatcher import Dispatcher
from scheduler.models import Task
from scheduler.planning import Plan
from scheduler.runner import run
from scheduler.services import task_schedule
from sora import services
from sora.models import Video, VideoState
from sora.simulator import SoraSimulator
from tests.sora_fixtures import claim_and_run, sim_faults, sim_state

pytestmark = pytest.mark.django_db


class Loop:
    """One dispatcher; what it claims is collected here and run on demand."""

    def __init__(self) -> None:
        self.claimed: list[int] = []
        self.dispatcher = Dispatcher(name="test", enqueue_fn=self._enqueue)

    def _enqueue(self, task_id: int, attempt: int, task_type: str, host: str) -> None:
        self.claimed.append(task_id)

    def cycle(self, capture: Any) -> Plan:
        with capture(execute=True):
            return self.dispatcher.cycle()

    def run(self, task_id: int) -> str:
        attempt = Task.objects.values_list("attempt", flat=True).get(pk=task_id)
        return run(task_id, attempt)


def _dm(name: str) -> Task:
    task, _ = task_schedule(
        type="check",
        name=name,
        platform="tiktok",
        priority=3,
        requirements={"safariExclusive": True},
    )
    return task


def _check_credits() -> None:
    """Run the queued credit check now (the chain always leaves the next one queued)."""
    check = Task.objects.filter(type="sora_check", status="pending").first()
    if check is None:
        check = services.credit_check_schedule(when=timezone.now(), reason="test")
    assert claim_and_run(check.pk) == "completed"


def test_it_waits_for_credits_then_runs_the_trilogy_ahead_of_dms(
    sora_sim: SoraSimulator,
    sample_trilogies: list[str],
    django_capture_on_commit_callbacks: Any,
) -> None:
    loop = Loop()
    sim_faults(sora_sim, set_credits={"free": 0, "paid": 0})
    _check_credits()
    parts = services.trilogy_queue(slug="first_contact", wait_for_credits=3).task_ids
    dm1, dm2 = _dm("dm 1"), _dm("dm 2")

    # No credits: the trilogy waits with its reason; a DM takes Safari.
    first = loop.cycle(django_capture_on_commit_callbacks)
    assert first.start == (dm1.pk,)
    assert first.waits[parts[0]].startswith("needs 3 credits, 0 free, refresh ≈ ")
    assert Task.objects.get(pk=parts[0]).wait_reason == first.waits[parts[0]]
    assert loop.run(dm1.pk) == "completed"

    # Credits come back; the check sees the jump.
    sim_faults(sora_sim, force_refresh=True)
    _check_credits()

    for part in parts:
        step = loop.cycle(django_capture_on_commit_callbacks)
        # A part and a DM both want Safari: the part (priority 2) is claimed first.
        assert step.start == (part,)
        assert step.waits[dm2.pk] == "Safari on local is busy"
        assert loop.run(part) == "completed"
    assert loop.claimed[1:] == parts
    state = sim_state(sora_sim)
    prompts = [
        c["payload"]["prompt"] for c in sorted(state["commands"], key=lambda c: c["createdAt"])
    ]
    videos = Video.objects.filter(task_id__in=parts).order_by("part__part")
    assert [p.startswith(v.part.prompt) for p, v in zip(prompts, videos, strict=True)] == [
        True
    ] * len(prompts)
    assert {v.state for v in videos} == {VideoState.SUCCEEDED}
    assert loop.cycle(django_capture_on_commit_callbacks).start == (dm2.pk,)


def test_a_generating_part_leaves_safari_to_the_dms(
    sora_sim: SoraSimulator,
    sample_trilogies: list[str],
    django_capture_on_commit_callbacks: Any,
) -> None:
    loop = Loop()
    _check_credits()
    parts = services.trilogy_queue(slug="first_contact").task_ids
    dm = _dm("dm")
    assert loop.cycle(django_capture_on_commit_callbacks).start == (parts[0],)
    assert Task.objects.get(pk=parts[0]).holds_safari
    # The part submitted and released Safari, as the handler does right after the 202.
    Task.objects.filter(pk=parts[0]).update(status="running", holds_safari=False)
    assert loop.cycle(django_capture_on_commit_callbacks).start == (dm.pk,)
