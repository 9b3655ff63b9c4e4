"""Single Sora videos: the PRD's `queueVideosOnRefresh(videos)`.

A single video is a task `{"type": "sora", "payload": {"prompt": …, "title": …}}`, from the
API, `scheduler schedule`, the dashboard form, `POST /api/sora/videos` or `scheduler sora
--prompt/--file`. It needs one credit (the same gate a trilogy's first part has, for one part)
and, when it first runs, gets its record: a one-part story of kind `single` with a run and a
video tied to the task, so the submit-once intent and the resume work exactly as for a part.
Videos queued together start in order (one lane, oldest first) as credits allow.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from scheduler.models import Task
from scheduler.services import task_schedule
from sora.models import Trilogy, TrilogyPart, TrilogyRun, Video
from sora.selectors import VIDEO_TYPE

MAX_BATCH = 100


def single_requirements(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A video that is not a trilogy's part waits for one credit of its own."""
    return {} if payload.get("videoId") else {"soraCredits": 1}


def video_for_task(*, task: Task, prompt: str, title: str, now: datetime) -> Video:
    """The single video's record, made once per task (a retried attempt finds it again)."""
    with transaction.atomic():
        existing = Video.objects.select_related("part__trilogy", "run").filter(task=task).first()
        if existing is not None:
            return existing
        label = (title or prompt).strip()[:200] or f"video {task.pk}"
        story = Trilogy.objects.create(
            slug=f"video-{task.pk}",
            kind=Trilogy.Kind.SINGLE,
            title=label,
            source="single video",
            created_at=now,
        )
        part = TrilogyPart.objects.create(trilogy=story, part=1, title=label, prompt=prompt)
        run = TrilogyRun.objects.create(
            trilogy=story, label=label, wait_for_credits=1, priority=task.priority, created_at=now
        )
        video = Video.objects.create(run=run, part=part, task=task)
    return Video.objects.select_related("part__trilogy", "run").get(pk=video.pk)


def videos_queue(
    *,
    videos: Sequence[Mapping[str, Any]],
    priority: int = 2,
    client: str | None = None,
    idempotency_key: str | None = None,
    request_hash: str = "",
) -> list[tuple[Task, bool]]:
    """Queue single videos in order; each starts by itself once a credit is free. Returns
    each task and whether it is new (a repeated idempotency key finds the first ones)."""
    if not 1 <= len(videos) <= MAX_BATCH:
        raise ValidationError({"videos": f"give 1 to {MAX_BATCH} videos"})
    tasks: list[tuple[Task, bool]] = []
    with transaction.atomic():
        for index, video in enumerate(videos, start=1):
            prompt = str(video.get("prompt") or "")
            title = str(video.get("title") or "")
            task, created = task_schedule(
                type=VIDEO_TYPE,
                name=f"Video: {(title or prompt)[:80]}",
                priority=priority,
                payload={"prompt": prompt, **({"title": title} if title else {})},
                client=client,
                idempotency_key=f"{idempotency_key}:{index}" if idempotency_key else None,
                request_hash=request_hash,
            )
            tasks.append((task, created))
    return tasks
