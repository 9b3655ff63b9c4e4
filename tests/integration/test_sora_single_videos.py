"""Single Sora videos (the PRD's `{"type": "sora", "payload": {"prompt": …}}` and
queueVideosOnRefresh): the same credit gate, submit-once intent and resume as a trilogy part."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from scheduler.models import Task
from sora import client, gates, selectors, services
from sora.models import Trilogy, Video, VideoState
from sora.simulator import SoraSimulator
from tests.integration.test_sora_gates import NOW, _plan, _reading
from tests.sora_fixtures import claim_and_run, sim_state

pytestmark = pytest.mark.django_db


def _create(api: Any, **payload: Any) -> Task:
    answer = api.post("/api/scheduler/task", {"type": "sora", "payload": payload}, format="json")
    assert answer.status_code == 201, answer.content
    return Task.objects.get(pk=answer.json()["taskId"])


def test_a_prompt_only_sora_task_makes_its_video_once(api: Any, sora_sim: SoraSimulator) -> None:
    services.snapshot_record(reading=client.usage()[0])
    task = _create(api, prompt="A fox crosses a neon bridge", title="Neon fox")
    assert gates.video_needs(task) == {"sora:slots": 1, "sora:credits": 1, "sora:admission": 1}
    assert claim_and_run(task.pk) == "completed"
    video = Video.objects.select_related("part__trilogy", "run").get(task=task)
    assert video.state == VideoState.SUCCEEDED
    assert video.part.prompt == "A fox crosses a neon bridge"
    assert video.part.trilogy.kind == Trilogy.Kind.SINGLE
    assert video.run.admitted_at is not None  # its credit was reserved when it started
    assert sim_state(sora_sim)["posts"] == 1
    assert not selectors.trilogy_list().filter(kind=Trilogy.Kind.SINGLE).exists()


def test_a_single_video_waits_for_a_credit_like_a_part(api: Any, sample_trilogies: list[str]):
    now = timezone.now()
    _reading(0, free=0, at=now)
    task = _create(api, prompt="Waits for a credit")
    later = timezone.now()
    assert _plan(later).start == ()
    assert "needs 1 credit" in _plan(later).waits[task.pk]
    _reading(1, free=1, at=later)
    assert _plan(later).start == (task.pk,)


def test_a_retried_single_video_finds_its_record_and_never_submits_twice(
    api: Any, sora_sim: SoraSimulator
) -> None:
    services.snapshot_record(reading=client.usage()[0])
    task = _create(api, prompt="Once only")
    from sora import singles

    first = singles.video_for_task(task=task, prompt="Once only", title="", now=NOW)
    again = singles.video_for_task(task=task, prompt="Once only", title="", now=NOW)
    assert first.pk == again.pk
    assert claim_and_run(task.pk) == "completed"
    assert Video.objects.filter(task=task).count() == 1
    assert sim_state(sora_sim)["posts"] == 1


def test_a_batch_through_the_api_is_queued_in_order_and_is_repeat_safe(api: Any) -> None:
    body = {
        "videos": [{"prompt": "one", "title": "First"}, {"prompt": "two"}],
        "idempotencyKey": "batch-1",
    }
    answer = api.post("/api/sora/videos", body, format="json")
    assert answer.status_code == 201, answer.content
    ids = [int(pk) for pk in answer.json()["taskIds"]]
    tasks = [Task.objects.get(pk=pk) for pk in ids]
    assert [t.payload["prompt"] for t in tasks] == ["one", "two"]
    assert all(t.req_sora_credits == 1 and t.priority == 2 for t in tasks)
    assert tasks[0].created_at <= tasks[1].created_at
    assert tasks[0].lane == tasks[1].lane  # one lane, oldest first: in order
    again = api.post("/api/sora/videos", body, format="json")
    assert again.status_code == 200
    assert again.json()["taskIds"] == answer.json()["taskIds"]
    empty = api.post("/api/sora/videos", {"videos": []}, format="json")
    assert empty.status_code == 400
    assert "videos" in empty.json()["fields"]


def test_the_cli_queues_prompts_and_a_prompts_file(tmp_path: Path) -> None:
    out = StringIO()
    call_command("scheduler", "sora", "--prompt", "a", "--prompt", "b", stdout=out)
    assert "2 video(s) queued" in out.getvalue()
    path = tmp_path / "prompts.json"
    path.write_text(json.dumps(["c", {"prompt": "d", "title": "Dee"}]), encoding="utf-8")
    call_command("scheduler", "sora", "--file", str(path), stdout=StringIO())
    prompts = list(Task.objects.order_by("id").values_list("payload__prompt", flat=True))
    assert prompts == ["a", "b", "c", "d"]
    path.write_text('{"not": "a list"}', encoding="utf-8")
    with pytest.raises(CommandError, match="--file"):
        call_command("scheduler", "sora", "--file", str(path), stdout=StringIO())
    with pytest.raises(CommandError, match="--file"):
        call_command("scheduler", "sora", "--file", str(tmp_path / "missing.json"))
