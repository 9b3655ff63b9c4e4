"""The video handler through the real runner, against the simulator: submit once, resume by
polling, find a lost command, never submit twice after a crash."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.models import Event, Task
from scheduler.services import task_decide
from sora import client, services
from sora.models import Video, VideoState
from sora.simulator import SoraSimulator
from tests.sora_fixtures import claim_and_run, sim_faults, sim_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def first_part(sora_sim: SoraSimulator, sample_trilogies: list[str]) -> Task:
    services.snapshot_record(reading=client.usage()[0])
    queued = services.trilogy_queue(slug="first_contact")
    return Task.objects.get(pk=queued.task_ids[0])


def _video(task: Task) -> Video:
    return Video.objects.select_related("part").get(task=task)


def _kinds(task: Task) -> list[str]:
    return list(Event.objects.filter(task=task).order_by("id").values_list("kind", flat=True))


def test_a_part_is_submitted_once_and_records_its_video(
    sora_sim: SoraSimulator, first_part: Task
) -> None:
    assert claim_and_run(first_part.pk) == "completed"
    first_part.refresh_from_db()
    video = _video(first_part)
    assert video.state == VideoState.SUCCEEDED
    assert video.run.admitted_at is not None
    assert video.file_size
    assert video.video_path.endswith(".mp4")
    assert first_part.result["videoPath"] == video.video_path
    assert first_part.result["commandId"] == video.command_id
    assert sim_state(sora_sim)["posts"] == 1
    assert "task.released_safari" in _kinds(first_part)
    assert not first_part.holds_safari


def test_the_trilogy_parts_run_in_order_each_once(
    sora_sim: SoraSimulator, first_part: Task
) -> None:
    ids = list(
        Video.objects.filter(run=_video(first_part).run)
        .order_by("part__part")
        .values_list("task_id", flat=True)
    )
    for pk in ids:
        assert Task.objects.get(pk=pk).pending_deps == 0
        assert claim_and_run(pk) == "completed"
    state = sim_state(sora_sim)
    assert state["posts"] == 3
    prompts = [
        c["payload"]["prompt"] for c in sorted(state["commands"], key=lambda c: c["createdAt"])
    ]
    parts = Video.objects.filter(task_id__in=ids).order_by("part__part")
    assert [p.startswith(v.part.prompt) for p, v in zip(prompts, parts, strict=True)] == [True] * 3


def test_a_resumed_part_polls_its_command_instead_of_submitting(
    sora_sim: SoraSimulator, first_part: Task
) -> None:
    video = _video(first_part)
    command = client.submit(prompt=video.part.prompt)
    services.video_intent(video_id=video.pk, now=first_part.created_at)
    services.video_submitted(video_id=video.pk, command_id=command.id, now=first_part.created_at)
    assert claim_and_run(first_part.pk) == "completed"
    assert sim_state(sora_sim)["posts"] == 1
    assert _video(first_part).command_id == command.id


def test_a_lost_command_id_is_found_among_recent_commands(
    sora_sim: SoraSimulator, first_part: Task
) -> None:
    video = _video(first_part)
    services.video_intent(video_id=video.pk, now=first_part.created_at)
    command = client.submit(prompt=video.part.prompt)  # the worker died before storing the id
    assert claim_and_run(first_part.pk) == "completed"
    assert _video(first_part).command_id == command.id
    assert sim_state(sora_sim)["posts"] == 1
    assert "sora.command_recovered" in _kinds(first_part)


def test_an_intent_with_no_matching_command_blocks_for_a_human(
    sora_sim: SoraSimulator, first_part: Task
) -> None:
    video = _video(first_part)
    services.video_intent(video_id=video.pk, now=first_part.created_at)
    assert claim_and_run(first_part.pk) == "blocked"
    first_part.refresh_from_db()
    assert "no command id was stored" in first_part.wait_reason
    assert sim_state(sora_sim)["posts"] == 0
    task_decide(task_id=first_part.pk, decision="resubmit")
    assert _video(first_part).intent_at is None
    assert claim_and_run(first_part.pk) == "completed"
    assert sim_state(sora_sim)["posts"] == 1


def test_a_crash_after_the_202_does_not_submit_twice(
    sora_sim: SoraSimulator, first_part: Task
) -> None:
    sim_faults(sora_sim, crash_after_202=1)
    assert claim_and_run(first_part.pk) == "completed"
    assert sim_state(sora_sim)["posts"] == 1
    assert len(sim_state(sora_sim)["commands"]) == 1


def test_a_crash_whose_command_cannot_be_found_yet_keeps_the_intent_then_finds_it(
    sora_sim: SoraSimulator, first_part: Task, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim_faults(sora_sim, crash_after_202=1)
    real = client.recent_commands

    def down() -> list[client.Command]:
        from safari_auto.http import ServiceError

        raise ServiceError("down", permanent=False)

    monkeypatch.setattr(client, "recent_commands", down)
    assert claim_and_run(first_part.pk) == "pending"  # retry with backoff
    assert _video(first_part).intent_at is not None
    monkeypatch.setattr(client, "recent_commands", real)
    Task.objects.filter(pk=first_part.pk).update(scheduled_for=first_part.created_at)
    assert claim_and_run(first_part.pk) == "completed"
    assert sim_state(sora_sim)["posts"] == 1


def test_a_failed_generation_retries_with_backoff_then_succeeds(
    sora_sim: SoraSimulator, first_part: Task
) -> None:
    sim_faults(sora_sim, fail_next=1)
    assert claim_and_run(first_part.pk) == "pending"
    first_part.refresh_from_db()
    assert first_part.retry_count == 1
    assert first_part.scheduled_for > first_part.created_at
    video = _video(first_part)
    assert video.state == VideoState.FAILED
    assert video.command_id == ""
    assert len(video.history) == 1
    assert claim_and_run(first_part.pk) == "completed"
    assert sim_state(sora_sim)["posts"] == 2


def test_a_part_that_keeps_failing_stops_the_rest_of_its_trilogy(
    sora_sim: SoraSimulator, first_part: Task
) -> None:
    Task.objects.filter(pk=first_part.pk).update(max_retries=0)
    sim_faults(sora_sim, fail_next=1)
    assert claim_and_run(first_part.pk) == "failed"
    run = _video(first_part).run
    statuses = set(Task.objects.filter(video__run=run).values_list("status", flat=True))
    assert statuses == {"failed"}
    later = Task.objects.filter(video__run=run).exclude(pk=first_part.pk).first()
    assert later is not None
    assert f"#{first_part.pk}" in later.error


def test_a_busy_service_defers_without_using_a_retry(
    sora_sim: SoraSimulator, first_part: Task
) -> None:
    sim_faults(sora_sim, generation_seconds=10_000)
    for n in range(3):
        client.submit(prompt=f"someone else {n}")
    assert claim_and_run(first_part.pk) == "pending"
    first_part.refresh_from_db()
    assert first_part.retry_count == 0
    assert "at most 3" in first_part.wait_reason
    assert _video(first_part).intent_at is None


def test_a_rejected_prompt_fails_for_good(sora_sim: SoraSimulator, first_part: Task) -> None:
    sim_faults(sora_sim, reject_next=1)
    assert claim_and_run(first_part.pk) == "failed"


def test_the_setting_keeps_safari_for_the_whole_generation(
    sora_sim: SoraSimulator, first_part: Task, settings: Any
) -> None:
    settings.SORA_HOLD_SAFARI_FOR_GENERATION = True
    assert claim_and_run(first_part.pk) == "completed"
    assert "task.released_safari" not in _kinds(first_part)


def test_a_service_that_is_down_before_the_submit_clears_the_intent(
    first_part: Task, settings: Any
) -> None:
    settings.SERVICE_URLS = {**settings.SERVICE_URLS, "sora": "http://127.0.0.1:9"}
    assert claim_and_run(first_part.pk) == "pending"
    assert _video(first_part).intent_at is None
