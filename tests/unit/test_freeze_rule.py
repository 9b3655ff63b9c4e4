"""When a host's cluster counts as having work waiting with a worker free (the freeze clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduler.selectors import HostWork
from scheduler.supervisor import waiting_since

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_the_freeze_clock_runs_from_the_oldest_waiting_claim_while_a_worker_is_free():
    work = HostWork(oldest_claim=T0 + timedelta(seconds=5), running=1)
    assert waiting_since(work, cluster_since=T0, workers=2) == T0 + timedelta(seconds=5)


def test_it_never_runs_from_before_the_cluster_was_up():
    work = HostWork(oldest_claim=T0, running=0)
    up = T0 + timedelta(seconds=30)
    assert waiting_since(work, cluster_since=up, workers=2) == up


def test_nothing_waiting_or_every_worker_busy_stops_the_clock():
    assert waiting_since(HostWork(None, 0), cluster_since=T0, workers=2) is None
    assert waiting_since(HostWork(T0, 2), cluster_since=T0, workers=2) is None
