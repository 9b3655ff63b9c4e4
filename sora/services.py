"""Writes: credit readings and triggers, checks, trilogy queueing and admission, videos."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from scheduler import events
from scheduler.models import FINAL_STATUSES, Lane, Task
from scheduler.services import lane_key, task_schedule
from sora import estimation, selectors
from sora.models import CreditSnapshot, CreditTrigger, TrilogyRun, Video, VideoState

logger = logging.getLogger(__name__)


# --- credit readings ----------------------------------------------------------------------


def _as_reading(snapshot: CreditSnapshot) -> estimation.Reading:
    return estimation.Reading(
        remaining=snapshot.remaining,
        free=snapshot.free,
        paid=snapshot.paid,
        refreshes_at=snapshot.refresh_hint,
    )


def snapshot_record(
    *,
    reading: estimation.Reading,
    raw: dict[str, Any] | None = None,
    source: str = "usage",
    now: datetime | None = None,
) -> CreditSnapshot:
    """Store one reading; detect a refresh (once), fire its event, evaluate the triggers."""
    now = now or timezone.now()
    with transaction.atomic():
        previous = selectors.snapshot_latest_known()
        snapshot = CreditSnapshot.objects.create(
            observed_at=now,
            source=source,
            free=reading.free,
            paid=reading.paid,
            total=reading.total,
            remaining=reading.remaining,
            videos_generated_today=reading.videos_generated_today,
            daily_limit=reading.daily_limit,
            plan=reading.plan,
            refresh_hint=reading.refreshes_at,
            raw=raw or {},
        )
        refreshed = previous is not None and estimation.is_refresh(_as_reading(previous), reading)
        if refreshed and previous is not None:
            refreshed = _mark_refresh(snapshot, previous)
        state = selectors.credit_state(now=now)
        data = {
            "snapshotId": snapshot.pk,
            "free": reading.free,
            "paid": reading.paid,
            "remaining": reading.remaining,
            "available": state.available,
            "estimatedRefreshTime": state.estimate.isoformat() if state.estimate else None,
        }
        if refreshed:
            events.record(
                "sora.credits_refreshed",
                subject="credits",
                subject_id=snapshot.pk,
                message=f"Sora credits refreshed: {reading.remaining} remaining",
                data={**data, "refreshedAt": _iso(snapshot.refreshed_at)},
                now=now,
            )
        else:
            left = "unknown" if reading.remaining is None else reading.remaining
            events.record(
                "sora.credits_checked",
                subject="credits",
                subject_id=snapshot.pk,
                message=f"Sora credits: {left} remaining",
                data=data,
                now=now,
            )
        triggers_evaluate(snapshot=snapshot, available=state.available, now=now)
    return snapshot


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _mark_refresh(snapshot: CreditSnapshot, previous: CreditSnapshot) -> bool:
    """One refresh per pair of readings: the unique `refresh_after` makes a racing check lose."""
    moment = estimation.refresh_moment(
        previous.observed_at, snapshot.observed_at, previous.refresh_hint
    )
    try:
        with transaction.atomic():
            CreditSnapshot.objects.filter(pk=snapshot.pk).update(
                refresh_after=previous, refreshed_at=moment
            )
    except IntegrityError:
        return False
    snapshot.refresh_after, snapshot.refreshed_at = previous, moment
    return True


def _epoch() -> int:
    latest = (
        CreditSnapshot.objects.filter(refreshed_at__isnull=False)
        .order_by("-refreshed_at", "-id")
        .values_list("pk", flat=True)
        .first()
    )
    return int(latest or 0)


def triggers_evaluate(
    *, snapshot: CreditSnapshot, available: int | None, now: datetime
) -> list[CreditTrigger]:
    """Fire each trigger whose threshold is met, at most once per refresh (on commit)."""
    if available is None:
        return []
    epoch = _epoch()
    fired: list[CreditTrigger] = []
    for trigger in CreditTrigger.objects.filter(active=True, threshold__lte=available):
        moved = (
            CreditTrigger.objects.filter(pk=trigger.pk, active=True)
            .exclude(fired_epoch=epoch)
            .update(fired_epoch=epoch, fired_at=now)
        )
        if moved:
            fired.append(trigger)
            events.record(
                "sora.trigger_fired",
                subject="credits",
                subject_id=snapshot.pk,
                message=f"{trigger.name}: {available} credits available",
                data={"trigger": trigger.name, "available": available},
                now=now,
            )
            transaction.on_commit(partial(_call_trigger, trigger, snapshot, available))
    return fired


def _call_trigger(trigger: CreditTrigger, snapshot: CreditSnapshot, available: int) -> None:
    try:
        import_string(trigger.callback)(credits=available, snapshot=snapshot)
    except Exception:
        logger.exception("credit trigger %s (%s) failed", trigger.name, trigger.callback)


def credit_trigger_register(*, name: str, callback: str, threshold: int = 1) -> CreditTrigger:
    """onCreditsAvailable(threshold, callback): `callback(credits=, snapshot=)`."""
    try:
        import_string(callback)
    except ImportError as exc:
        raise ValidationError({"callback": f"cannot import {callback!r}"}) from exc
    if threshold < 1:
        raise ValidationError({"threshold": "threshold must be at least 1"})
    trigger, _ = CreditTrigger.objects.update_or_create(
        name=name, defaults={"callback": callback, "threshold": threshold, "active": True}
    )
    return trigger


# --- credit checks ------------------------------------------------------------------------


def credit_check_schedule(*, when: datetime, reason: str = "", per_minute: bool = True) -> Task:
    """Queue a usage check at `when`; one per minute slot (idempotency key) unless
    `per_minute` is off (a check asked for now, after one that already ran this minute)."""
    task, _ = task_schedule(
        type=selectors.CHECK_TYPE,
        name=f"Sora credit check{': ' + reason if reason else ''}",
        priority=2,
        scheduled_for=when,
        idempotency_key=f"sora_check:{when:%Y-%m-%dT%H:%M}" if per_minute else None,
    )
    return task


def credit_check_ensure(
    *, now: datetime | None = None, reason: str = "", due_now: bool = False
) -> Task | None:
    """Queue a check now unless one is already waiting or running. `due_now` (asked by a
    person): only a check that is due now or running counts, not the chain's next one."""
    now = now or timezone.now()
    if selectors.check_pending(due_by=now if due_now else None):
        return None
    return credit_check_schedule(when=now, reason=reason, per_minute=not due_now)


def credit_check_next(*, snapshot: CreditSnapshot, now: datetime) -> Task:
    """scheduleRefreshCheck: at the refresh estimate, hourly otherwise, soon when unknown."""
    state = selectors.credit_state(now=now)
    when = estimation.next_check_at(now=now, estimate=state.estimate, known=snapshot.is_known)
    # Never the running check's own minute slot: that key would answer with this very task.
    when = max(when, now + timedelta(minutes=1))
    return credit_check_schedule(when=when, reason="next")


# --- trilogies: queue, admit --------------------------------------------------------------


@dataclass(frozen=True)
class QueueResult:
    run: TrilogyRun
    task_ids: list[int]
    created: bool
    message: str


def _result(run: TrilogyRun, created: bool, note: str = "") -> QueueResult:
    videos = list(run.videos.select_related("part").order_by("part__part"))
    ids = [video.task_id for video in videos if video.task_id is not None]
    message = note or (
        f"queued {run.trilogy.slug}: {len(ids)} parts; part 1 waits for "
        f"{max(len(ids), run.wait_for_credits)} credits"
        if created
        else f"already queued as run #{run.pk}"
    )
    return QueueResult(run=run, task_ids=ids, created=created, message=message)


def trilogy_queue(
    *,
    slug: str,
    label: str = "",
    wait_for_credits: int = 3,
    priority: int = 2,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> QueueResult:
    """One video task per part, chained; part 1 waits for every part's credit (all or nothing).

    A repeated idempotency key returns the first run.
    """
    now = now or timezone.now()
    if idempotency_key:
        existing = TrilogyRun.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return _result(existing, created=False)
    trilogy = selectors.trilogy_get(slug=slug)
    if trilogy is None:
        raise ValidationError({"trilogyId": f"unknown trilogy {slug!r}; import it first"})
    parts = list(trilogy.parts.order_by("part"))
    if not parts:
        raise ValidationError({"trilogyId": f"trilogy {slug!r} has no parts"})
    if wait_for_credits < 0:
        raise ValidationError({"waitForCredits": "waitForCredits must be ≥ 0"})
    gate = max(len(parts), wait_for_credits)
    try:
        with transaction.atomic():
            run = TrilogyRun.objects.create(
                trilogy=trilogy,
                label=label or trilogy.title,
                wait_for_credits=wait_for_credits,
                priority=priority,
                idempotency_key=idempotency_key or None,
                created_at=now,
            )
            previous: Task | None = None
            for part in parts:
                video = Video.objects.create(run=run, part=part)
                task, _ = task_schedule(
                    type=selectors.VIDEO_TYPE,
                    name=f"{run.label} — part {part.part}/{len(parts)}: {part.title}",
                    priority=priority,
                    payload={
                        "videoId": video.pk,
                        "runId": run.pk,
                        "trilogyId": trilogy.slug,
                        "part": part.part,
                        "admit": previous is None,
                    },
                    dependencies=[previous.pk] if previous else [],
                    requirements={"soraCredits": gate} if previous is None else None,
                    idempotency_key=f"{idempotency_key}:part{part.part}"
                    if idempotency_key
                    else None,
                    now=now,
                )
                Video.objects.filter(pk=video.pk).update(task=task)
                previous = task
            events.record(
                "sora.trilogy_queued",
                subject="video",
                subject_id=run.pk,
                message=f"{trilogy.slug} queued ({len(parts)} parts)",
                data={"runId": run.pk, "trilogyId": trilogy.slug},
                now=now,
            )
    except IntegrityError:
        if idempotency_key:
            existing = TrilogyRun.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                return _result(existing, created=False)
        raise
    state = selectors.credit_state(now=now)
    if not state.known:
        credit_check_ensure(now=now, reason="credits unknown")
    return _result(run, created=True)


queue_trilogy = trilogy_queue


def run_admit(*, run_id: int, now: datetime | None = None) -> bool:
    """Reserve all of a run's credits at once (its first part started). True the first time.

    Its parts leave the queue of trilogies waiting for admission for a lane of admitted ones:
    a part that runs again (a retry, a resubmit) or a later part never waits behind another
    trilogy that waits for credits, least of all for the credits this one holds."""
    now = now or timezone.now()
    with transaction.atomic():
        if not TrilogyRun.objects.filter(pk=run_id, admitted_at__isnull=True).update(
            admitted_at=now
        ):
            return False
        count = Video.objects.filter(run_id=run_id).update(reserved=True)
        _to_admitted_lane(run_id=run_id, now=now)
        events.record(
            "sora.trilogy_admitted",
            subject="video",
            subject_id=run_id,
            message=f"run #{run_id} admitted: {count} credits reserved",
            data={"runId": run_id, "reserved": count},
            now=now,
        )
    return True


def _lane(*, host: str, admitted: bool) -> str:
    """Sora tasks wait for admission in their type's lane, in order; an admitted trilogy's
    parts run in a lane of their own (the same key shape, `admitted` in the account's place)."""
    return lane_key(
        type=selectors.VIDEO_TYPE, platform="", account="admitted" if admitted else "", host=host
    )


def _to_admitted_lane(*, run_id: int, now: datetime) -> None:
    tasks = Task.objects.filter(video__run_id=run_id).exclude(status__in=FINAL_STATUSES)
    for host in set(tasks.values_list("safari_host", flat=True)):
        lane = _lane(host=host, admitted=True)
        Lane.objects.get_or_create(key=lane, defaults={"created_at": now})
        tasks.filter(safari_host=host).update(lane=lane)


def run_release_for_retry(*, task: Task, now: datetime | None = None) -> int:
    """A person retries a failed or cancelled part: its trilogy gave back the credits of the
    parts it had not made when that part ended, and another trilogy may hold them by now.
    So the trilogy is admitted again: the retried part needs the credits of every part still
    to make (free ones: `sora:admission`), waits in the queue of trilogies waiting for
    admission, and reserves them when it starts. Returns the credits it now needs (0: the
    trilogy was not admitted; nothing to do)."""
    now = now or timezone.now()
    video = Video.objects.select_related("run").filter(task=task).first()
    if video is None or video.run.admitted_at is None:
        return 0
    run_id = video.run_id
    with transaction.atomic():
        if not TrilogyRun.objects.filter(pk=run_id, admitted_at__isnull=False).update(
            admitted_at=None
        ):
            return 0
        Video.objects.filter(run_id=run_id).update(reserved=False)
        unmade = Video.objects.filter(run_id=run_id, submitted_at__isnull=True).exclude(
            state=VideoState.SUCCEEDED
        )
        needed = max(int(task.req_sora_credits), unmade.count(), 1)
        Task.objects.filter(pk=task.pk).update(req_sora_credits=needed)
        tasks = Task.objects.filter(video__run_id=run_id).exclude(status__in=FINAL_STATUSES)
        for host in set(tasks.values_list("safari_host", flat=True)):
            tasks.filter(safari_host=host).update(lane=_lane(host=host, admitted=False))
        events.record(
            "sora.trilogy_released",
            subject="video",
            subject_id=run_id,
            message=f"run #{run_id} retried by a person: it needs {needed} credits again",
            data={"runId": run_id, "taskId": task.pk, "needs": needed},
            now=now,
        )
    return needed


# --- videos: the submit-once record -------------------------------------------------------


def _video_event(kind: str, video_id: int, message: str, now: datetime, **data: Any) -> None:
    events.record(
        kind,
        subject="video",
        subject_id=video_id,
        message=message,
        data={"videoId": video_id, **data},
        now=now,
    )


def video_intent(*, video_id: int, now: datetime) -> bool:
    """Store the intent to submit (committed before the call). False if one exists."""
    with transaction.atomic():
        moved = Video.objects.filter(pk=video_id, intent_at__isnull=True, command_id="").update(
            intent_at=now, state=VideoState.SUBMITTING, error=""
        )
        if moved:
            _video_event("sora.video_intent", video_id, "about to submit", now)
    return bool(moved)


def video_intent_clear(*, video_id: int, reason: str, now: datetime | None = None) -> bool:
    """Nothing was created: the next attempt may submit again."""
    now = now or timezone.now()
    with transaction.atomic():
        moved = Video.objects.filter(pk=video_id, command_id="").update(
            intent_at=None, state=VideoState.QUEUED, error=reason[:2000]
        )
        if moved:
            _video_event("sora.video_intent_cleared", video_id, f"not submitted: {reason}", now)
    return bool(moved)


def video_submitted(*, video_id: int, command_id: str, now: datetime) -> bool:
    with transaction.atomic():
        moved = Video.objects.filter(pk=video_id, command_id="").update(
            command_id=command_id, submitted_at=now, state=VideoState.GENERATING
        )
        if moved:
            _video_event(
                "sora.video_submitted",
                video_id,
                f"submitted as {command_id}",
                now,
                commandId=command_id,
            )
    return bool(moved)


def video_succeeded(
    *, video_id: int, video_path: str, file_size: int | None, now: datetime
) -> None:
    with transaction.atomic():
        Video.objects.filter(pk=video_id).update(
            state=VideoState.SUCCEEDED,
            video_path=video_path,
            file_size=file_size,
            finished_at=now,
            error="",
        )
        _video_event(
            "sora.video_ready",
            video_id,
            f"video ready: {video_path}",
            now,
            videoPath=video_path,
            fileSize=file_size,
        )


def _forget_command(video: Video, *, error: str, now: datetime, state: str) -> bool:
    """Move the video's command to its history and clear it, so the next attempt submits
    anew (and never adopts that command as its own: `handlers._find_lost` skips history)."""
    history = [
        *video.history,
        {"commandId": video.command_id, "error": error, "at": now.isoformat()},
    ]
    return bool(
        Video.objects.filter(pk=video.pk, command_id=video.command_id).update(
            state=state,
            error=error[:2000],
            history=history,
            command_id="",
            intent_at=None,
            submitted_at=None,
        )
    )


def video_generation_failed(*, video: Video, error: str, now: datetime) -> None:
    """The command FAILED: keep it in history and clear it, so a retry submits anew."""
    with transaction.atomic():
        if _forget_command(video, error=error, now=now, state=VideoState.FAILED):
            _video_event(
                "sora.video_failed",
                video.pk,
                f"generation failed: {error}",
                now,
                commandId=video.command_id,
                error=error,
            )


def video_decided(*, task: Task, decision: str, now: datetime | None = None) -> None:
    """A human resolved a part whose submit outcome was unknown, or whose command the
    service no longer knows. Runs in the decision's transaction, which moved the task out
    of `blocked` first: a second decision finds nothing to decide.

    'resubmit' (or 'retry'): the next attempt submits again, through the submit-once intent
    like any submit. A forgotten command goes to the video's history, so it is never taken
    for the new one. Otherwise ('generated', 'done'): the part is done, and its trilogy goes
    on."""
    now = now or timezone.now()
    video = Video.objects.filter(task=task).first()
    if video is None:
        return
    if decision not in ("retry", "resubmit"):
        Video.objects.filter(pk=video.pk).update(
            state=VideoState.SUCCEEDED,
            error=f"decided '{decision}' without a command id",
            finished_at=now,
        )
        _video_event(
            "sora.video_decided",
            video.pk,
            f"decided '{decision}': counted as made",
            now,
            decision=decision,
        )
        return
    if not video.command_id:
        video_intent_clear(video_id=video.pk, reason=f"decided: {decision}", now=now)
        return
    forgotten = video.command_id
    note = f"Sora no longer knew command {forgotten}; decided: {decision}"
    if _forget_command(video, error=note, now=now, state=VideoState.QUEUED):
        _video_event(
            "sora.video_resubmitted",
            video.pk,
            f"{note}: it will be submitted again",
            now,
            commandId=forgotten,
            decision=decision,
        )
