"""The embedded profile's django-q2 broker: cheap idle polls, batch locks, one-DELETE acks."""

from __future__ import annotations

import pytest
from django.conf import settings
from django_q.models import OrmQ

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        bool(settings.REDIS_URL), reason="the scale profile uses django-q2's Redis broker"
    ),
]


def test_it_locks_a_batch_in_order_and_acknowledges_with_one_delete() -> None:
    from scheduler.broker import PollingORM

    broker = PollingORM(list_key="bench-broker")
    assert broker.dequeue() is None  # nothing ready: one cheap query, then the poll sleep
    ids = [broker.enqueue(f"package {i}") for i in range(6)]
    first = broker.dequeue()
    assert first is not None
    assert [pk for pk, _ in first] == ids[:4]  # bulk is 4, oldest first
    assert [payload for _, payload in first] == [f"package {i}" for i in range(4)]
    second = broker.dequeue()
    assert second is not None
    assert [pk for pk, _ in second] == ids[4:]
    assert broker.dequeue() is None  # all locked now
    for pk in ids:
        broker.acknowledge(pk)
    assert not OrmQ.objects.filter(key="bench-broker").exists()
