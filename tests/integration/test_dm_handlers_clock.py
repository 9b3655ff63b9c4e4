"""The DM handlers read the clock through their task context (`ctx.now()`), so the time a
send is recorded at is the task's time, whoever runs it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from dm import handlers
from dm.simulator import TikTokDMSim
from scheduler.models import Task
from tests.dm_factories import deliveries, ledger, open_all_day, platform_sim, send_via_api

pytestmark = pytest.mark.django_db


class FixedClockContext:
    """A task context whose clock stands still at `moment`."""

    def __init__(self, task: Task, moment) -> None:
        self.task = task
        self.payload: dict[str, Any] = task.payload or {}
        self.moment = moment
        self.events: list[str] = []

    def now(self):
        return self.moment

    def event(self, kind: str, message: str = "", **data: Any) -> None:
        self.events.append(kind)

    def check_cancelled(self) -> None:
        pass


@pytest.fixture
def server(settings):
    open_all_day(settings, "tiktok")
    with platform_sim(settings, TikTokDMSim, "tiktok") as running:
        yield running


def test_a_dm_is_recorded_at_its_task_contexts_time(api, server):
    task = send_via_api(api, "tiktok", "maya_builds", "Hi Maya")
    moment = (timezone.now() - timedelta(minutes=7)).replace(microsecond=0)

    result = handlers.dm(FixedClockContext(task, moment))

    entry = ledger(task)
    assert (entry.state, entry.attempt_started_at, entry.finished_at) == ("sent", moment, moment)
    assert result["sentAt"] == moment.isoformat()
    assert len(deliveries(server)) == 1
