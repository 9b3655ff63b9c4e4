"""Host liveness: which Safari hosts' worker clusters are alive.

Each host's supervisor (`manage.py workers`, `scheduler.supervisor`) signs on when it starts a
cluster, beats while the cluster runs and signs off on a clean stop. Readers ask `liveness`.
A host no supervisor has ever reported is `unknown`, not offline: a system started without the
supervisor (a test's bare `qcluster`) keeps working as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from scheduler import events
from scheduler.models import Event, WorkerHost


class HostTaken(RuntimeError):
    """Another live supervisor already runs this host's cluster."""


@dataclass(frozen=True)
class Liveness:
    host: str
    state: str  # "online", "offline", "stopped" or "unknown"
    since: datetime | None  # online: the cluster's start; offline: last heard; stopped: when
    incarnation: int = 0

    @property
    def online(self) -> bool:
        return self.state in ("online", "unknown")


def lease() -> timedelta:
    return timedelta(seconds=float(settings.SCHEDULER["HOST_LEASE_SECONDS"]))


def sign_on(
    host: str,
    *,
    machine: str,
    pid: int,
    workers: int,
    now: datetime,
    holder_gone: Callable[[str, int], bool] | None = None,
) -> int:
    """Record a (re)started cluster for `host`; returns its incarnation. Refuses while another
    supervisor's beat is fresh, so two machines never serve one host, unless `holder_gone`
    proves that supervisor dead (same machine, process gone: a restart after a crash need not
    wait out the lease)."""
    with transaction.atomic():
        row, _ = WorkerHost.objects.select_for_update().get_or_create(host=host)
        fresh = row.seen_at is not None and now - row.seen_at < lease()
        other = (row.machine, row.pid) != (machine, pid)
        if other and holder_gone is not None and holder_gone(row.machine, row.pid):
            fresh = False
        if fresh and row.stopped_at is None and other:
            raise HostTaken(
                f"host {host} already has a running worker cluster "
                f"(supervisor {row.pid} on {row.machine}, last seen {row.seen_at:%H:%M:%S})"
            )
        row.machine, row.pid, row.workers = machine, pid, workers
        row.incarnation += 1
        row.started_at = row.seen_at = now
        row.stopped_at = None
        row.save()
        events.record(
            "host.online",
            subject="host",
            subject_id=host,
            message=f"host {host}: {workers} workers started on {machine} "
            f"(incarnation {row.incarnation})",
            data={"machine": machine, "pid": pid, "incarnation": row.incarnation},
            now=now,
        )
        return row.incarnation


def beat(host: str, *, incarnation: int, now: datetime) -> bool:
    """The cluster of `incarnation` is alive. False if another incarnation took the host over."""
    return bool(WorkerHost.objects.filter(host=host, incarnation=incarnation).update(seen_at=now))


def sign_off(host: str, *, incarnation: int, now: datetime, reason: str = "stopped") -> None:
    """A clean stop: the host is offline at once, not after its lease."""
    with transaction.atomic():
        if WorkerHost.objects.filter(host=host, incarnation=incarnation).update(
            stopped_at=now, seen_at=now
        ):
            events.record(
                "host.stopped",
                subject="host",
                subject_id=host,
                message=f"host {host}: workers {reason}",
                data={"incarnation": incarnation},
                now=now,
            )


def liveness(now: datetime, hosts: list[str] | None = None) -> dict[str, Liveness]:
    """Each host's state (every configured host, plus any that reported)."""
    names = list(hosts if hosts is not None else settings.SAFARI_HOSTS)
    rows = {row.host: row for row in WorkerHost.objects.all()}
    states: dict[str, Liveness] = {}
    for host in dict.fromkeys(names + list(rows)):
        row = rows.get(host)
        if row is None or row.seen_at is None:
            states[host] = Liveness(host, "unknown", None)
        elif row.stopped_at is not None:
            states[host] = Liveness(host, "stopped", row.stopped_at, row.incarnation)
        elif now - row.seen_at >= lease():
            states[host] = Liveness(host, "offline", row.seen_at, row.incarnation)
        else:
            states[host] = Liveness(host, "online", row.started_at, row.incarnation)
    return states


def held(states: Mapping[str, Liveness]) -> dict[str, str]:
    """The hosts whose tasks wait (offline, or stopped), each with the reason they show:
    "host laptop offline since 14:03:05". An unknown host is not held."""
    return {
        host: f"host {host} {live.state} since {timezone.localtime(live.since):%H:%M:%S}"
        for host, live in states.items()
        if not live.online and live.since is not None
    }


def placeable(states: Mapping[str, Liveness], configured: Sequence[str]) -> tuple[str, ...]:
    """Where unpinned work may go, in configured order: the hosts whose workers are online. A
    host no supervisor ever reported may have no workers at all, so it gets unpinned work only
    while no host is known online (a system of bare `qcluster`s, as before hosts reported)."""
    online = tuple(h for h in configured if h in states and states[h].state == "online")
    if online:
        return online
    return tuple(h for h in configured if h not in states or states[h].state == "unknown")


def record_offline(live: Liveness, *, now: datetime) -> bool:
    """A `host.offline` event the first time a reader sees this incarnation gone quiet (once,
    whichever dispatcher sees it: the host's last event tells). True if it recorded one."""
    with transaction.atomic():
        last = (
            Event.objects.filter(subject="host", subject_id=live.host)
            .order_by("-id")
            .values_list("kind", "data")
            .first()
        )
        if last is not None and (last[0], (last[1] or {}).get("incarnation")) == (
            "host.offline",
            live.incarnation,
        ):
            return False
        since = f"{timezone.localtime(live.since):%H:%M:%S}" if live.since else "?"
        events.record(
            "host.offline",
            subject="host",
            subject_id=live.host,
            message=f"host {live.host} offline since {since}: its workers stopped beating; "
            "its tasks wait and its claims are reaped",
            data={
                "incarnation": live.incarnation,
                "lastSeen": live.since.isoformat() if live.since else None,
            },
            now=now,
        )
    return True
