"""django-q2 packages for claimed tasks: which cluster runs a task, one broker per cluster
per process, and packages packed first and sent together."""

from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.utils import timezone

from scheduler import registry
from scheduler.planning import MAIN_POOL


def cluster_for(host: str, pool: str = MAIN_POOL) -> str:
    """The django-q2 queue (`cluster_name`) of a host's pool: its main cluster's, or with
    workers reserved, its ordinary work's (`planning.pool_of`)."""
    name = f"{settings.Q_CLUSTER_PREFIX}-{host}"
    return name if pool == MAIN_POOL else f"{name}-{pool}"


@cache
def broker_for(cluster: str) -> Any:
    """One broker per cluster for the life of the process: django-q2 builds a new one (and,
    on Redis, a new connection) for every `async_task` that is not handed one."""
    from django_q.brokers import get_broker

    return get_broker(cluster)


class PackageBatch:
    """Stands in for a broker while `async_task` packs (signs) packages, then sends them all
    at once: one multi-row INSERT on the ORM broker, one pipelined round trip on Redis."""

    def __init__(self, broker: Any) -> None:
        self.broker = broker
        self.list_key = broker.list_key
        self.packages: list[str] = []

    def enqueue(self, package: str) -> int:
        self.packages.append(package)
        return len(self.packages)

    def flush(self) -> None:
        if not self.packages:
            return
        connection_: Any = getattr(self.broker, "connection", None)
        if hasattr(connection_, "pipeline"):  # Redis
            pipe = connection_.pipeline(transaction=False)
            for package in self.packages:
                pipe.rpush(self.list_key, package)
            pipe.execute()
        elif "orm" in settings.Q_CLUSTER:
            from django_q.conf import Conf
            from django_q.models import OrmQ

            now = timezone.now()
            OrmQ.objects.using(Conf.ORM).bulk_create(
                [OrmQ(key=self.list_key, payload=p, lock=now) for p in self.packages]
            )
        else:  # any other broker: one by one
            for package in self.packages:
                self.broker.enqueue(package)
        self.packages = []


def enqueue(
    task_id: int,
    attempt: int,
    task_type: str,
    host: str,
    *,
    pool: str = MAIN_POOL,
    broker: Any = None,
) -> None:
    from django_q.tasks import async_task

    cluster = cluster_for(host, pool)
    async_task(
        "scheduler.runner.run",
        task_id,
        attempt,
        cluster=cluster,
        broker=broker or broker_for(cluster),
        timeout=registry.timeout_for(task_type),
        task_name=f"task-{task_id}-{attempt}",
        save=False,
    )
