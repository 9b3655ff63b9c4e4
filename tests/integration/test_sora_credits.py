"""The credit monitor: snapshots, refresh detection (once), triggers, the next check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from scheduler.models import Event, Task
from scheduler.signals import credits_refreshed
from sora import estimation, selectors, services
from sora.models import CreditSnapshot, CreditTrigger
from sora.simulator import SoraSimulator
from tests.sora_fixtures import claim_and_run, sim_faults

pytestmark = pytest.mark.django_db
NOW = datetime(2025, 3, 10, 1, 0, tzinfo=UTC)
CALLS: list[dict[str, Any]] = []


def record_call(**kwargs: Any) -> None:
    CALLS.append(kwargs)


def _read(
    remaining: int | None, at: datetime, free: int | None = None, hint: datetime | None = None
) -> CreditSnapshot:
    paid = None if free is None or remaining is None else remaining - free
    return services.snapshot_record(
        reading=estimation.Reading(remaining=remaining, free=free, paid=paid, refreshes_at=hint),
        now=at,
    )


def test_credits_refreshed_fires_once_per_refresh(
    django_capture_on_commit_callbacks: Any,
) -> None:
    received: list[Any] = []

    def on_refresh(sender: Any, event: Any, **kwargs: Any) -> None:
        received.append(event.data)

    credits_refreshed.connect(on_refresh)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            _read(0, NOW)
            _read(0, NOW + timedelta(hours=1))
            _read(5, NOW + timedelta(hours=2))  # the refresh
            _read(5, NOW + timedelta(hours=3))
            _read(4, NOW + timedelta(hours=4))
    finally:
        credits_refreshed.disconnect(on_refresh)
    assert len(received) == 1
    assert received[0]["remaining"] == 5
    assert Event.objects.filter(kind="sora.credits_refreshed").count() == 1
    assert Event.objects.filter(kind="sora.credits_checked").count() == 4


def test_a_racing_check_cannot_count_the_same_refresh_twice() -> None:
    first = _read(0, NOW)
    refreshed = _read(5, NOW + timedelta(hours=1))
    assert refreshed.refresh_after_id == first.pk
    assert not services._mark_refresh(CreditSnapshot.objects.create(remaining=5), first)


def test_the_refresh_interval_is_learned_from_history() -> None:
    _read(0, NOW)
    _read(5, NOW + timedelta(hours=1))
    _read(0, NOW + timedelta(hours=10))
    _read(5, NOW + timedelta(hours=21))  # 20 h after the first refresh
    state = selectors.credit_state(now=NOW + timedelta(hours=22))
    assert state.interval_hours == 20
    assert state.estimate == NOW + timedelta(hours=41)


def test_the_service_refresh_time_wins_and_marks_when_the_refresh_happened() -> None:
    hint = NOW + timedelta(minutes=30)
    _read(0, NOW, free=0, hint=hint)
    after = _read(5, NOW + timedelta(hours=1), free=5, hint=hint + timedelta(hours=24))
    assert after.refreshed_at == hint
    summary = selectors.credits_summary(now=NOW + timedelta(hours=1))
    credits: dict[str, Any] = summary["credits"]  # type: ignore[assignment]
    assert credits["estimatedRefreshTime"] == (hint + timedelta(hours=24)).isoformat()
    assert summary["timeUntilRefresh"] == "23h 30m"
    assert (credits["freeCredits"], credits["paidCredits"], credits["totalCredits"]) == (5, 0, 5)


def test_on_credits_available_fires_once_per_refresh(
    django_capture_on_commit_callbacks: Any,
) -> None:
    CALLS.clear()
    services.credit_trigger_register(
        name="queue videos", callback=f"{__name__}.record_call", threshold=3
    )
    with django_capture_on_commit_callbacks(execute=True):
        _read(2, NOW)  # below the threshold
        _read(4, NOW + timedelta(hours=1))  # refresh: fires
        _read(4, NOW + timedelta(hours=2))  # same refresh: quiet
        _read(0, NOW + timedelta(hours=3))
        _read(5, NOW + timedelta(hours=25))  # next refresh: fires again
        _read(None, NOW + timedelta(hours=26))  # unknown: never evaluated as 0
    assert [call["credits"] for call in CALLS] == [4, 5]
    assert CreditTrigger.objects.get().fired_at is not None


def test_a_trigger_must_name_something_importable() -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.credit_trigger_register(name="x", callback="no.such.thing", threshold=1)
    with pytest.raises(ValidationError):
        services.credit_trigger_register(name="x", callback=f"{__name__}.record_call", threshold=0)


def test_a_failing_trigger_is_logged_not_raised(
    django_capture_on_commit_callbacks: Any, caplog: pytest.LogCaptureFixture
) -> None:
    services.credit_trigger_register(name="bad", callback="builtins.divmod", threshold=1)
    with django_capture_on_commit_callbacks(execute=True):
        _read(3, NOW)
    assert "credit trigger bad" in caplog.text


def test_the_check_task_stores_a_snapshot_and_queues_the_next_check_at_the_estimate(
    sora_sim: SoraSimulator,
) -> None:
    check = services.credit_check_ensure(reason="test")
    assert check is not None
    assert services.credit_check_ensure() is None  # one is already queued
    assert claim_and_run(check.pk) == "completed"
    check.refresh_from_db()
    snapshot = selectors.snapshot_latest()
    assert snapshot is not None
    assert snapshot.remaining == 5
    assert snapshot.free == 5
    nxt = Task.objects.get(type="sora_check", status="pending")
    # The simulator gives its refresh time: the next check waits for it (plus a grace).
    assert snapshot.refresh_hint is not None
    assert nxt.scheduled_for == snapshot.refresh_hint + estimation.REFRESH_GRACE
    assert check.result["nextCheck"] == nxt.scheduled_for.isoformat()


def test_no_tab_is_stored_as_unknown_and_checked_again_soon(sora_sim: SoraSimulator) -> None:
    sim_faults(sora_sim, no_tab=True)
    with time_machine.travel(NOW, tick=False):
        check = services.credit_check_ensure()
        assert check is not None
        assert claim_and_run(check.pk) == "completed"
    latest = selectors.snapshot_latest()
    assert latest is not None
    assert latest.remaining is None
    assert latest.total is None
    nxt = Task.objects.get(type="sora_check", status="pending")
    assert nxt.scheduled_for == NOW + estimation.UNKNOWN_RECHECK


def test_a_check_that_cannot_reach_the_service_still_queues_the_next(settings: Any) -> None:
    settings.SERVICE_URLS = {**settings.SERVICE_URLS, "sora": "http://127.0.0.1:9"}
    with time_machine.travel(NOW, tick=False):
        check = services.credit_check_ensure()
        assert check is not None
        claim_and_run(check.pk)
    assert Task.objects.filter(
        type="sora_check", scheduled_for=NOW + timedelta(minutes=10), status="pending"
    ).exists()
    assert selectors.snapshot_latest() is None  # an outage is not a reading


def test_the_monitor_learns_the_simulator_refresh_end_to_end(
    sora_sim: SoraSimulator, django_capture_on_commit_callbacks: Any
) -> None:
    sim_faults(sora_sim, set_credits={"free": 0, "paid": 0})
    with django_capture_on_commit_callbacks(execute=True):
        first = services.credit_check_schedule(when=NOW)
        claim_and_run(first.pk)
        sim_faults(sora_sim, refreshes_at="2000-01-01T00:00:00+00:00")  # due: it refreshes
        second = services.credit_check_schedule(when=NOW + timedelta(minutes=5))
        claim_and_run(second.pk)
    assert Event.objects.filter(kind="sora.credits_refreshed").count() == 1
    latest = selectors.snapshot_latest()
    assert latest is not None
    assert latest.is_refresh
    assert latest.free == 5


def test_a_check_asked_for_now_is_queued_even_with_the_next_one_waiting() -> None:
    now = timezone.now()
    later = services.credit_check_schedule(when=now + timedelta(hours=1), reason="next")
    assert services.credit_check_ensure(now=now) is None  # the chain's next check counts
    asked = services.credit_check_ensure(now=now, due_now=True, reason="asked")
    assert asked is not None
    assert asked.pk != later.pk
    assert asked.scheduled_for <= now
    assert services.credit_check_ensure(now=now, due_now=True) is None  # one due is enough
