"""Host liveness: a supervisor signs its host on, beats, signs off; a host whose beats stop is
offline after one lease, and a second supervisor cannot take a host whose beats are fresh."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from scheduler import hosts
from scheduler.models import Event

pytestmark = pytest.mark.django_db


def test_a_host_is_online_while_it_beats_offline_after_one_lease_and_stopped_at_once():
    now = timezone.now()
    lease = hosts.lease()
    assert hosts.liveness(now, ["studio"])["studio"].state == "unknown"
    assert hosts.liveness(now, ["studio"])["studio"].online  # never seen: not held

    incarnation = hosts.sign_on("studio", machine="mac1", pid=10, workers=4, now=now)
    assert hosts.liveness(now + lease / 2, ["studio"])["studio"].state == "online"
    assert hosts.beat("studio", incarnation=incarnation, now=now + lease / 2)

    later = now + lease / 2 + lease
    gone = hosts.liveness(later, ["studio"])["studio"]
    assert (gone.state, gone.since, gone.online) == ("offline", now + lease / 2, False)

    hosts.sign_off("studio", incarnation=incarnation, now=later)
    assert hosts.liveness(later, ["studio"])["studio"].state == "stopped"
    kinds = list(Event.objects.filter(subject="host").values_list("kind", flat=True))
    assert kinds == ["host.stopped", "host.online"]


def test_a_second_supervisor_cannot_take_a_live_host_but_can_take_one_gone_quiet():
    now = timezone.now()
    first = hosts.sign_on("laptop", machine="mac1", pid=10, workers=2, now=now)
    with pytest.raises(hosts.HostTaken, match="supervisor 10 on mac1"):
        hosts.sign_on("laptop", machine="mac2", pid=20, workers=2, now=now + timedelta(seconds=1))

    quiet = now + hosts.lease() + timedelta(seconds=1)
    second = hosts.sign_on("laptop", machine="mac2", pid=20, workers=2, now=quiet)
    assert second == first + 1
    # The old cluster's beats no longer count: it was taken over.
    assert not hosts.beat("laptop", incarnation=first, now=quiet)
    assert hosts.beat("laptop", incarnation=second, now=quiet)


def test_a_supervisor_proved_dead_is_replaced_at_once_but_only_when_proved():
    now = timezone.now()
    first = hosts.sign_on("studio", machine="mac1", pid=10, workers=2, now=now)
    alive = lambda machine, pid: False  # noqa: E731 - the holder still runs
    with pytest.raises(hosts.HostTaken):
        hosts.sign_on("studio", machine="mac1", pid=11, workers=2, now=now, holder_gone=alive)
    dead = lambda machine, pid: (machine, pid) == ("mac1", 10)  # noqa: E731
    second = hosts.sign_on("studio", machine="mac1", pid=11, workers=2, now=now, holder_gone=dead)
    assert second == first + 1


def test_unpinned_work_goes_only_to_hosts_known_online_once_any_host_reports():
    """A host no supervisor ever reported may have no workers: once some host is known online,
    unpinned work goes only there; a system where no host reports (bare qcluster) keeps all."""
    now = timezone.now()
    configured = ["studio", "laptop"]
    assert hosts.placeable(hosts.liveness(now, configured), configured) == ("studio", "laptop")
    hosts.sign_on("laptop", machine="mac2", pid=20, workers=2, now=now)
    assert hosts.placeable(hosts.liveness(now, configured), configured) == ("laptop",)
    later = now + hosts.lease() * 2
    assert hosts.placeable(hosts.liveness(later, configured), configured) == ("studio",)
