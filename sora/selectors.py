"""Reads: the credit picture, reservations, Sora slots, trilogies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.urls import reverse

from scheduler.models import Task, TaskStatus
from sora import estimation
from sora.files import video_file_path
from sora.models import CreditSnapshot, Trilogy, TrilogyRun, Video, VideoState

SLOT_CAPACITY = 3
VIDEO_TYPE = "sora"
CHECK_TYPE = "sora_check"
IN_FLIGHT = [TaskStatus.SCHEDULED, TaskStatus.RUNNING]


@dataclass(frozen=True)
class CreditState:
    snapshot: CreditSnapshot | None
    reserved: int
    available: int | None
    estimate: datetime | None
    interval_hours: float
    basis_at: datetime | None = None

    @property
    def known(self) -> bool:
        return self.available is not None


def snapshot_latest() -> CreditSnapshot | None:
    return CreditSnapshot.objects.order_by("-observed_at", "-id").first()


def snapshot_latest_known() -> CreditSnapshot | None:
    return (
        CreditSnapshot.objects.filter(remaining__isnull=False)
        .order_by("-observed_at", "-id")
        .first()
    )


def refresh_times(limit: int = 30) -> list[datetime]:
    times = (
        CreditSnapshot.objects.filter(refreshed_at__isnull=False)
        .order_by("-refreshed_at")
        .values_list("refreshed_at", flat=True)[:limit]
    )
    return [moment for moment in times if moment is not None]


def _reserved_videos(*, as_of: datetime | None) -> QuerySet[Video]:
    """Videos whose credit an admitted trilogy holds and that had not been submitted at
    `as_of` (the reading credits are counted from)."""
    # A part that ended failed or cancelled without submitting gave its credit back.
    released = Q(task__status__in=[TaskStatus.FAILED, TaskStatus.CANCELLED]) & Q(
        submitted_at__isnull=True
    )
    videos = Video.objects.filter(reserved=True, task__isnull=False).exclude(released)
    if as_of is not None:
        return videos.filter(Q(submitted_at__isnull=True) | Q(submitted_at__gt=as_of))
    return videos.filter(submitted_at__isnull=True)


def credits_reserved(*, as_of: datetime | None) -> int:
    """Credits promised to admitted parts that had not been submitted at `as_of`, plus those
    of trilogies being admitted right now (first part claimed, reservation not yet written)."""
    reserved = _reserved_videos(as_of=as_of).count()
    admitting = (
        Video.objects.filter(
            task__type=VIDEO_TYPE,
            task__status__in=IN_FLIGHT,
            task__req_sora_credits__gt=0,
            run__admitted_at__isnull=True,
        )
        .values_list("run_id", flat=True)
        .distinct()
    )
    if admitting:
        reserved += Video.objects.filter(run_id__in=list(admitting)).count()
    return reserved


def credits_held_at_gate(*, as_of: datetime | None, now: datetime) -> int:
    """Of the reserved credits, those held by admitted trilogies whose credit-gated part is
    back at the gate, due by `now` (a retry, a resubmit, a person's retry): that part counts
    its own trilogy's reservation as its own (`sora:credits`); no other trilogy can
    (`sora:admission`)."""
    at_gate = Video.objects.filter(
        task__type=VIDEO_TYPE,
        task__status=TaskStatus.PENDING,
        task__pending_deps=0,
        task__req_sora_credits__gt=0,
        task__scheduled_for__lte=now,
        run__admitted_at__isnull=False,
    ).values("run_id")
    return _reserved_videos(as_of=as_of).filter(run_id__in=at_gate).count()


def run_admitted_for_task(*, task_id: int) -> bool:
    """The task's trilogy (or single video) was admitted: its credits are reserved."""
    return Video.objects.filter(task_id=task_id, run__admitted_at__isnull=False).exists()


def credit_basis(latest: CreditSnapshot | None) -> CreditSnapshot | None:
    """The reading credits are counted from: the latest, when it is known. When the latest is
    the service saying it has no usage until a first command runs on it (the real service
    after each start), the last known reading still holds: parts submitted since are counted
    as reserved against it, and a refresh since would only add credits. Otherwise unknown."""
    if latest is None or latest.is_known:
        return latest
    if not estimation.awaiting_first_command(latest.raw or {}):
        return None
    return snapshot_latest_known()


def credit_state(*, now: datetime) -> CreditState:
    latest = snapshot_latest()
    known = credit_basis(latest)
    reserved = credits_reserved(as_of=known.observed_at if known else None)
    refreshes = refresh_times()
    hint = known.refresh_hint if known is not None else None
    return CreditState(
        snapshot=latest,
        reserved=reserved,
        available=estimation.available(known.remaining if known else None, reserved),
        estimate=estimation.estimate_next_refresh(refreshes=refreshes, hint=hint, now=now),
        interval_hours=estimation.typical_interval(refreshes).total_seconds() / 3600,
        basis_at=known.observed_at if known else None,
    )


def slots_in_use() -> int:
    return Task.objects.filter(type=VIDEO_TYPE, status__in=IN_FLIGHT).count()


def credits_needed_by_head() -> int | None:
    """What the first credit-gated part in line needs (for its wait reason)."""
    head = (
        Task.objects.filter(
            type=VIDEO_TYPE, status=TaskStatus.PENDING, pending_deps=0, req_sora_credits__gt=0
        )
        .order_by("priority", "scheduled_for", "created_at", "id")
        .values_list("req_sora_credits", flat=True)
        .first()
    )
    return int(head) if head else None


def check_pending(*, due_by: datetime | None = None) -> bool:
    """A check is waiting or running; with `due_by`, a waiting one counts only if it is due by
    then (the chain's next check, hours away, does not answer "check now")."""
    checks = Task.objects.filter(type=CHECK_TYPE, status__in=[TaskStatus.PENDING, *IN_FLIGHT])
    if due_by is not None:
        checks = checks.exclude(status=TaskStatus.PENDING, scheduled_for__gt=due_by)
    return checks.exists()


def trilogy_list() -> QuerySet[Trilogy]:
    """The trilogies to queue (single videos' one-part records are not among them)."""
    return (
        Trilogy.objects.filter(kind=Trilogy.Kind.TRILOGY).prefetch_related("parts").order_by("slug")
    )


def trilogy_get(*, slug: str) -> Trilogy | None:
    return Trilogy.objects.prefetch_related("parts").filter(slug=slug).first()


def run_list(*, limit: int = 50) -> QuerySet[TrilogyRun]:
    return (
        TrilogyRun.objects.select_related("trilogy")
        .annotate(parts=Count("videos"))
        .prefetch_related("videos__task", "videos__part")
        .order_by("-created_at", "-id")[:limit]
    )


def video_with_file(*, video_id: int) -> Video | None:
    return Video.objects.select_related("part__trilogy").filter(pk=video_id).first()


def credits_summary(*, now: datetime) -> dict[str, object]:
    """The CONTRACTS.md shape of GET /api/sora/credits (unknown is null, never 0), plus ours:
    remaining, reserved and available credits, slots in use, and whether the reading is known."""
    state = credit_state(now=now)
    snap = state.snapshot
    return {
        "credits": {
            "freeCredits": snap.free if snap else None,
            "paidCredits": snap.paid if snap else None,
            "totalCredits": snap.total if snap else None,
            "lastChecked": snap.observed_at.isoformat() if snap else None,
            "estimatedRefreshTime": state.estimate.isoformat() if state.estimate else None,
            "refreshIntervalHours": round(state.interval_hours, 2),
            "remainingCredits": snap.remaining if snap else None,
            "reservedCredits": state.reserved,
            "availableCredits": state.available,
            "known": state.known,
            "slotsInUse": slots_in_use(),
            "slotCapacity": SLOT_CAPACITY,
        },
        "timeUntilRefresh": estimation.time_until(now, state.estimate),
    }


def recent_videos(*, limit: int = 6) -> list[dict[str, Any]]:
    """The newest finished videos, with where to view and download them (behind login)."""
    rows = (
        Video.objects.filter(state=VideoState.SUCCEEDED)
        .select_related("part", "run")
        .order_by("-finished_at", "-pk")[:limit]
    )
    videos = []
    for video in rows:
        url = reverse("sora-video-file", args=[video.pk])
        videos.append(
            {
                "id": str(video.pk),
                "title": f"{video.part.title} (part {video.part.part})",
                "url": url,
                "downloadUrl": f"{url}?download=1",
                "fileSize": video.file_size,
                "onDisk": video_file_path(video.video_path) is not None,
                "finishedAt": video.finished_at.isoformat() if video.finished_at else None,
            }
        )
    return videos
