"""Task handlers: `sora` (one part: submit once, then poll) and `sora_check` (read credits).

Submit-once (DESIGN "Side effects happen at most once"): the intent is committed before the
POST, the command id right after the 202. A resumed part polls its command; one whose id was
lost looks for its prompt among the service's recent commands after the intent time, and
otherwise blocks for a human.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings

from safari_auto.http import ServiceError
from scheduler.errors import TaskBlocked, TaskDeferred, TaskError
from sora import client, services, singles
from sora.models import Video, VideoState

if TYPE_CHECKING:
    from scheduler.models import Task
    from scheduler.runner import TaskContext

# The service's clock and ours may differ a little when matching a lost command.
CLOCK_SKEW = timedelta(minutes=2)
MAX_POLL_ERRORS = 10
LIMITED_RETRY = timedelta(minutes=2)


def poll_seconds() -> float:
    """SORA_POLL_SECONDS (15 s by default); in demo mode sped up like the simulator."""
    base = float(getattr(settings, "SORA_POLL_SECONDS", 15.0))
    if getattr(settings, "DEMO", False):
        base /= float(settings.SIM_TIME_SCALE) or 1.0
    return max(base, 0.05)


def _load(ctx: TaskContext) -> Video:
    video_id = ctx.payload.get("videoId")
    if not video_id and ctx.payload.get("prompt"):  # a single video: its record, made once
        return singles.video_for_task(
            task=ctx.task,
            prompt=str(ctx.payload["prompt"]),
            title=str(ctx.payload.get("title") or ""),
            now=ctx.now(),
        )
    video = (
        Video.objects.select_related("part__trilogy", "run").filter(pk=video_id).first()
        if video_id
        else None
    )
    if video is None:
        raise TaskError(f"no video #{video_id} for this task", permanent=True)
    return video


def make_video(ctx: TaskContext) -> dict[str, Any]:
    video = _load(ctx)
    # The credit-gated part admits its trilogy: a first part, a single video, or a part a
    # person retried after its trilogy gave its credits back (`services.run_release_for_retry`).
    if ctx.payload.get("admit") or not ctx.payload.get("videoId") or ctx.task.req_sora_credits:
        services.run_admit(run_id=video.run_id, now=ctx.now())
    if video.state == VideoState.SUCCEEDED and video.video_path:
        return _result(video)
    if not video.command_id:
        if video.intent_at is not None:
            _adopt_lost(ctx, video, since=video.intent_at)
        else:
            _submit(ctx, video)
        video.refresh_from_db()
    if not settings.SORA_HOLD_SAFARI_FOR_GENERATION:
        ctx.release_safari("generating; Safari is free meanwhile")
    return _poll(ctx, video)


def _submit(ctx: TaskContext, video: Video) -> None:
    now = ctx.now()
    if not services.video_intent(video_id=video.pk, now=now):
        raise TaskError("another attempt already stored an intent for this part")
    ctx.save_progress(videoId=video.pk, intentAt=now.isoformat())
    trilogy = video.part.trilogy
    try:
        command = client.submit(prompt=video.part.prompt, character=trilogy.character or None)
    except client.SoraRefused as exc:
        services.video_intent_clear(video_id=video.pk, reason=str(exc))
        if exc.limited:
            raise TaskDeferred(ctx.now() + LIMITED_RETRY, str(exc)) from exc
        raise TaskError(str(exc), permanent=True) from exc
    except ServiceError as exc:
        if not exc.request_left:  # never connected: no command exists
            services.video_intent_clear(video_id=video.pk, reason=str(exc))
            raise TaskError(str(exc), permanent=False) from exc
        found = _find_lost(video, since=now)
        if found is None:
            # The intent stays: the next attempt searches again, then asks a human.
            raise TaskError(f"submit outcome unknown: {exc}", permanent=False) from exc
        command = found
    _store(ctx, video, command.id)


def _find_lost(video: Video, *, since: datetime) -> client.Command | None:
    """Our prompt among the service's recent commands, created after the intent."""
    try:
        commands = client.recent_commands()
    except ServiceError:
        return None
    taken = set(
        Video.objects.exclude(pk=video.pk)
        .exclude(command_id="")
        .values_list("command_id", flat=True)
    )
    taken |= {str(item.get("commandId")) for item in video.history if isinstance(item, dict)}
    # The prompt as sent carries the trilogy's character (older submits sent the bare prompt).
    prompts = {
        video.part.prompt,
        client.generation_prompt(video.part.prompt, video.part.trilogy.character or None),
    }
    matches = [
        command
        for command in commands
        if command.prompt in prompts
        and command.id not in taken
        and (command.created_at is None or command.created_at >= since - CLOCK_SKEW)
    ]
    matches.sort(key=lambda c: (c.created_at is None, c.created_at))
    return matches[0] if matches else None


def _adopt_lost(ctx: TaskContext, video: Video, *, since: datetime) -> None:
    found = _find_lost(video, since=since)
    if found is None:
        raise TaskBlocked(
            f"Part {video.part.part} of {video.part.trilogy.slug}: submitted at "
            f"{since:%H:%M:%S} but no command id was stored and none matches among the "
            "service's recent commands. Decide: 'resubmit' (make it again) or 'done'.",
            data={"videoId": video.pk, "intentAt": since.isoformat()},
        )
    ctx.event("sora.command_recovered", f"found lost command {found.id}", commandId=found.id)
    _store(ctx, video, found.id)


def _store(ctx: TaskContext, video: Video, command_id: str) -> None:
    services.video_submitted(video_id=video.pk, command_id=command_id, now=ctx.now())
    ctx.save_progress(videoId=video.pk, commandId=command_id)


def _poll(ctx: TaskContext, video: Video) -> dict[str, Any]:
    errors = 0
    last = ""
    while True:
        ctx.check_cancelled()
        try:
            command = client.command(video.command_id)
        except ServiceError as exc:
            errors += 1
            if errors >= MAX_POLL_ERRORS:
                raise TaskError(f"cannot read command {video.command_id}: {exc}") from exc
            ctx.sleep(poll_seconds())
            continue
        errors = 0
        if command is None:
            raise TaskBlocked(
                f"Sora no longer knows command {video.command_id}; decide 'resubmit' or 'done'.",
                data={"videoId": video.pk},
            )
        if command.status == "SUCCEEDED":
            services.video_succeeded(
                video_id=video.pk,
                video_path=command.video_path,
                file_size=command.file_size,
                now=ctx.now(),
            )
            video.refresh_from_db()
            return _result(video)
        if command.status in ("FAILED", "CANCELLED"):
            error = command.error or f"generation {command.status.lower()}"
            services.video_generation_failed(video=video, error=error, now=ctx.now())
            raise TaskError(f"Sora command {command.id}: {error}")
        if command.status != last:
            last = command.status
            ctx.save_progress(commandStatus=command.status)
        ctx.sleep(poll_seconds())


def _result(video: Video) -> dict[str, Any]:
    return {
        "videoId": video.pk,
        "trilogyId": video.part.trilogy.slug,
        "part": video.part.part,
        "commandId": video.command_id,
        "videoPath": video.video_path,
        "fileSize": video.file_size,
    }


def on_decide(task: Task, decision: str) -> None:
    services.video_decided(task=task, decision=decision)


def on_retry(task: Task) -> None:
    services.run_release_for_retry(task=task)


def check_credits(ctx: TaskContext) -> dict[str, Any]:
    """checkCredits: read usage, store the snapshot, then queue the next check."""
    now = ctx.now()
    try:
        reading, raw = client.usage()
    except ServiceError as exc:
        services.credit_check_schedule(when=now + timedelta(minutes=10), reason="after error")
        raise TaskError(f"cannot read Sora usage: {exc}", permanent=exc.permanent) from exc
    snapshot = services.snapshot_record(reading=reading, raw=raw, now=now)
    nxt = services.credit_check_next(snapshot=snapshot, now=now)
    return {
        "snapshotId": snapshot.pk,
        "remaining": snapshot.remaining,
        "free": snapshot.free,
        "paid": snapshot.paid,
        "refreshed": snapshot.is_refresh,
        "nextCheck": nxt.scheduled_for.isoformat(),
    }
