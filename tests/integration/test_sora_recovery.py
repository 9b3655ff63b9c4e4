"""Sora recovers (issue 15, item 5), through the dispatcher's real plan and claim, the real
runner and the Sora simulator over HTTP:

- a part that runs again (a retry after a failed generation, a retry a person asks for, a
  `resubmit` decision) is covered by its own trilogy's credit reservation instead of waiting
  on it, while no other trilogy can take credits a trilogy holds;
- `resubmit` of a part whose command the service forgot submits it again, exactly once, and
  the trilogy goes on.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from scheduler.dispatcher import Dispatcher
from scheduler.models import Event, Task
from scheduler.planning import Plan
from scheduler.runner import run
from scheduler.services import InvalidTransition, task_decide, task_retry
from sora import client, gates, services
from sora.models import Video, VideoState
from sora.simulator import SoraSimulator
from tests.sora_fixtures import claim_and_run, sim_faults, sim_state

pytestmark = pytest.mark.django_db


class Loop:
    """One dispatcher; what it claims is run on demand by the real runner."""

    def __init__(self, capture: Any) -> None:
        self.capture = capture
        self.dispatcher = Dispatcher(name="test", enqueue_fn=lambda *args: None)

    def cycle(self) -> Plan:
        with self.capture(execute=True):
            return self.dispatcher.cycle()

    def run(self, task_id: int) -> str:
        attempt = Task.objects.values_list("attempt", flat=True).get(pk=task_id)
        return run(task_id, attempt)


@pytest.fixture
def loop(django_capture_on_commit_callbacks: Any) -> Loop:
    return Loop(django_capture_on_commit_callbacks)


def _credits(sim: SoraSimulator, free: int) -> None:
    """Set the service's credits and read them, as the credit check does."""
    sim_faults(sim, set_credits={"free": free, "paid": 0})
    check = services.credit_check_schedule(when=timezone.now(), reason="test", per_minute=False)
    assert claim_and_run(check.pk) == "completed"


def _due(task_id: int) -> None:
    """The retry's backoff has passed."""
    Task.objects.filter(pk=task_id).update(scheduled_for=timezone.now())


def _video(task_id: int) -> Video:
    return Video.objects.select_related("part", "run").get(task_id=task_id)


def _video_events(video: Video) -> list[str]:
    return list(
        Event.objects.filter(
            subject="video", subject_id=str(video.pk), kind__startswith="sora.video"
        )
        .order_by("id")
        .values_list("kind", flat=True)
    )


def _run_rest(loop: Loop, parts: list[int]) -> None:
    for part in parts:
        step = loop.cycle()
        assert step.start == (part,), step.waits
        assert loop.run(part) == "completed"


def test_a_retried_first_part_is_covered_by_its_own_trilogys_reservation(
    sora_sim: SoraSimulator, sample_trilogies: list[str], loop: Loop
) -> None:
    _credits(sora_sim, 4)
    parts = services.trilogy_queue(slug="first_contact").task_ids
    assert loop.cycle().start == (parts[0],)
    sim_faults(sora_sim, fail_next=1)
    assert loop.run(parts[0]) == "pending"  # the generation failed: a retry, with backoff
    # The failed generation spent a credit: 3 left, exactly what the trilogy holds.
    _credits(sora_sim, 3)
    _due(parts[0])
    step = loop.cycle()
    assert step.start == (parts[0],), step.waits  # not "needs 3 credits, 0 free"
    assert loop.run(parts[0]) == "completed"
    _run_rest(loop, parts[1:])
    assert sim_state(sora_sim)["posts"] == 4
    assert {v.state for v in Video.objects.filter(task_id__in=parts)} == {VideoState.SUCCEEDED}


def test_another_trilogy_cannot_take_the_credits_a_retrying_one_holds(
    sora_sim: SoraSimulator, sample_trilogies: list[str], loop: Loop
) -> None:
    _credits(sora_sim, 4)
    first = services.trilogy_queue(slug="first_contact").task_ids
    assert loop.cycle().start == (first[0],)
    sim_faults(sora_sim, fail_next=1)
    assert loop.run(first[0]) == "pending"
    _credits(sora_sim, 3)
    second = services.trilogy_queue(slug="volcanic_fury", priority=1).task_ids
    # During the backoff the first trilogy's reservation holds: the second has none left.
    step = loop.cycle()
    assert step.start == ()
    assert step.waits[second[0]].startswith("needs 3 credits, 0 free")
    # Due again, the retry takes its own credits even behind a higher-priority trilogy.
    _due(first[0])
    step = loop.cycle()
    assert step.start == (first[0],), step.waits
    assert step.waits[second[0]].startswith("needs 3 credits, 0 free")


def test_a_person_retrying_a_failed_trilogy_gets_no_credits_another_holds(
    sora_sim: SoraSimulator, sample_trilogies: list[str], loop: Loop
) -> None:
    _credits(sora_sim, 3)
    first = services.trilogy_queue(slug="first_contact").task_ids
    Task.objects.filter(pk=first[0]).update(max_retries=0)
    assert loop.cycle().start == (first[0],)
    sim_faults(sora_sim, fail_next=1)
    assert loop.run(first[0]) == "failed"  # its unused credits went back
    _credits(sora_sim, 3)
    second = services.trilogy_queue(slug="volcanic_fury").task_ids
    assert loop.cycle().start == (second[0],)
    task_retry(task_id=first[0])
    # It is admitted again, from credits no one holds: all 3 are the second trilogy's.
    assert gates.video_needs(Task.objects.get(pk=first[0])) == {
        "sora:slots": 1,
        "sora:credits": 3,
        "sora:admission": 3,
    }
    free = gates.credit_gates(timezone.now(), {gates.CREDITS, gates.ADMISSION})
    assert (free[gates.CREDITS].available, free[gates.ADMISSION].available) == (0, 0)
    assert loop.run(second[0]) == "completed"
    _run_rest(loop, second[1:])
    step = loop.cycle()
    assert step.start == ()
    assert step.waits[first[0]].startswith("needs 3 credits, 0 free")
    # Credits come back: the retried trilogy runs from the start, each part once.
    _credits(sora_sim, 5)
    _run_rest(loop, first)
    assert sim_state(sora_sim)["posts"] == 7


def test_a_person_retrying_a_later_part_needs_the_credits_of_the_parts_left(
    sora_sim: SoraSimulator, sample_trilogies: list[str], loop: Loop
) -> None:
    _credits(sora_sim, 3)
    first = services.trilogy_queue(slug="first_contact").task_ids
    Task.objects.filter(pk=first[1]).update(max_retries=0)
    _run_rest(loop, first[:1])
    assert loop.cycle().start == (first[1],)
    sim_faults(sora_sim, fail_next=1)
    assert loop.run(first[1]) == "failed"  # part 3 fails with it: 2 credits given back
    _credits(sora_sim, 3)
    second = services.trilogy_queue(slug="volcanic_fury").task_ids
    assert loop.cycle().start == (second[0],)  # it takes them (and one more)
    task_retry(task_id=first[1])
    # Its trilogy is admitted again for the parts it has left, from credits no one holds.
    task = Task.objects.get(pk=first[1])
    assert gates.video_needs(task) == {"sora:slots": 1, "sora:credits": 2, "sora:admission": 2}
    assert loop.run(second[0]) == "completed"
    _run_rest(loop, second[1:])
    step = loop.cycle()
    assert step.waits[first[1]].startswith("needs 2 credits, 0 free")
    _credits(sora_sim, 2)
    _run_rest(loop, first[1:])
    assert sim_state(sora_sim)["posts"] == 7


def test_a_first_part_whose_worker_was_lost_resumes_on_its_own_reservation(
    sora_sim: SoraSimulator, sample_trilogies: list[str], loop: Loop
) -> None:
    _credits(sora_sim, 3)
    parts = services.trilogy_queue(slug="first_contact").task_ids
    sim_faults(sora_sim, generation_seconds=10_000)
    assert loop.cycle().start == (parts[0],)
    # The worker submitted and stored the command, then died while the video generated.
    video = _video(parts[0])
    services.run_admit(run_id=video.run_id)
    services.video_intent(video_id=video.pk, now=timezone.now())
    command = client.submit(prompt=video.part.prompt)
    services.video_submitted(video_id=video.pk, command_id=command.id, now=timezone.now())
    stale = timezone.now() - timedelta(minutes=10)
    Task.objects.filter(pk=parts[0]).update(status="running", heartbeat_at=stale)
    assert loop.dispatcher.reap(timezone.now()) == 1
    _due(parts[0])
    sim_faults(sora_sim, generation_seconds=600)
    step = loop.cycle()
    assert step.start == (parts[0],), step.waits
    assert loop.run(parts[0]) == "completed"
    assert _video(parts[0]).command_id == command.id  # polled, not submitted again
    _run_rest(loop, parts[1:])
    assert sim_state(sora_sim)["posts"] == 3


def test_a_retried_single_video_is_covered_by_its_own_credit(
    sora_sim: SoraSimulator, sample_trilogies: list[str], loop: Loop
) -> None:
    from sora.singles import videos_queue

    _credits(sora_sim, 2)
    ((video_task, _),) = videos_queue(videos=[{"prompt": "A fox crosses a neon bridge"}])
    assert loop.cycle().start == (video_task.pk,)
    sim_faults(sora_sim, fail_next=1)
    assert loop.run(video_task.pk) == "pending"
    _credits(sora_sim, 1)
    ((later, _),) = videos_queue(videos=[{"prompt": "An owl reads the stars"}])
    _due(video_task.pk)
    step = loop.cycle()
    assert step.start == (video_task.pk,), step.waits
    assert step.waits[later.pk].startswith("needs 1 credits, 0 free")
    assert loop.run(video_task.pk) == "completed"


@pytest.fixture
def forgotten(sora_sim: SoraSimulator, sample_trilogies: list[str], loop: Loop) -> list[int]:
    """A trilogy whose first part was submitted, then the service restarted and forgot the
    command: the part blocks for a decision."""
    _credits(sora_sim, 4)
    parts = services.trilogy_queue(slug="first_contact").task_ids
    sim_faults(sora_sim, generation_seconds=10_000)  # still generating when it forgets
    assert loop.cycle().start == (parts[0],)
    # An earlier attempt submitted it and stored the command id, then its worker died.
    video = _video(parts[0])
    services.video_intent(video_id=video.pk, now=timezone.now())
    command = client.submit(prompt=video.part.prompt)
    services.video_submitted(video_id=video.pk, command_id=command.id, now=timezone.now())
    sim_faults(sora_sim, forget_commands=True, generation_seconds=600)
    assert loop.run(parts[0]) == "blocked"
    task = Task.objects.get(pk=parts[0])
    assert f"Sora no longer knows command {command.id}" in task.wait_reason
    return parts


def test_resubmit_of_a_forgotten_command_submits_once_and_the_trilogy_goes_on(
    sora_sim: SoraSimulator, forgotten: list[int], loop: Loop
) -> None:
    old = _video(forgotten[0]).command_id
    task_decide(task_id=forgotten[0], decision="resubmit")
    with pytest.raises(InvalidTransition):  # a second decision finds nothing to decide
        task_decide(task_id=forgotten[0], decision="resubmit")
    video = _video(forgotten[0])
    assert (video.command_id, video.state) == ("", VideoState.QUEUED)
    assert video.history[-1]["commandId"] == old
    step = loop.cycle()
    assert step.start == (forgotten[0],), step.waits  # its reservation covers it
    assert loop.run(forgotten[0]) == "completed"
    video = _video(forgotten[0])
    assert video.state == VideoState.SUCCEEDED
    assert video.command_id not in ("", old)
    _run_rest(loop, forgotten[1:])
    assert sim_state(sora_sim)["posts"] == 4  # the forgotten one, then each part once
    assert _video_events(video)[-4:] == [
        "sora.video_resubmitted",
        "sora.video_intent",
        "sora.video_submitted",
        "sora.video_ready",
    ]


def test_a_crash_after_the_resubmit_posts_finds_its_command_instead_of_posting_again(
    sora_sim: SoraSimulator, forgotten: list[int], loop: Loop
) -> None:
    task_decide(task_id=forgotten[0], decision="resubmit")
    sim_faults(sora_sim, crash_after_202=1)  # the answer to the new submit never arrives
    assert loop.cycle().start == (forgotten[0],)
    assert loop.run(forgotten[0]) == "completed"  # found among the service's commands
    assert sim_state(sora_sim)["posts"] == 2
    _run_rest(loop, forgotten[1:])
    assert sim_state(sora_sim)["posts"] == 4


def test_a_worker_lost_after_the_resubmit_intent_never_posts_twice(
    sora_sim: SoraSimulator, forgotten: list[int], loop: Loop
) -> None:
    task_decide(task_id=forgotten[0], decision="resubmit")
    video = _video(forgotten[0])
    # The next attempt stored its intent and posted, then its worker died before the 202
    # was stored; the reaper hands the task back.
    services.video_intent(video_id=video.pk, now=timezone.now())
    client.submit(prompt=video.part.prompt)
    assert loop.cycle().start == (forgotten[0],)
    assert loop.run(forgotten[0]) == "completed"
    assert sim_state(sora_sim)["posts"] == 2
    assert "sora.command_recovered" in Event.objects.filter(task_id=forgotten[0]).values_list(
        "kind", flat=True
    )


def test_generated_for_a_forgotten_command_completes_the_part_and_the_trilogy_goes_on(
    sora_sim: SoraSimulator, forgotten: list[int], loop: Loop
) -> None:
    task_decide(task_id=forgotten[0], decision="generated")
    video = _video(forgotten[0])
    assert video.state == VideoState.SUCCEEDED
    assert _video_events(video)[-1] == "sora.video_decided"
    _run_rest(loop, forgotten[1:])
    assert sim_state(sora_sim)["posts"] == 3
