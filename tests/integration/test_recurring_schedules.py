"""Every recurring django-q2 Schedule is written by one service, in a form django-q2 can run."""

import ast

import pytest
from django_q.models import Schedule

from dm.automation import schedules_ensure
from scheduler.recurring import ensure_schedules, schedule_upsert

pytestmark = pytest.mark.django_db


def _called_with(schedule: Schedule) -> tuple[tuple, dict]:
    """What django-q2's scheduler passes the function: `args` a tuple, `kwargs` in `dict()`."""
    args = ast.literal_eval(schedule.args) if schedule.args else ()
    kwargs = ast.literal_eval(schedule.kwargs) if schedule.kwargs else {}
    return tuple(args), dict(kwargs)


def test_an_upsert_creates_once_then_updates_in_place():
    assert schedule_upsert(name="x", func="m.f", cron="* * * * *", host="local", args=(1, "a"))
    assert not schedule_upsert(name="x", func="m.g", cron="5 * * * *", host="mac-2")
    schedule = Schedule.objects.get(name="x")
    assert (schedule.func, schedule.cron, schedule.cluster) == ("m.g", "5 * * * *", "safari-mac-2")
    assert (schedule.schedule_type, schedule.repeats) == (Schedule.CRON, -1)
    assert _called_with(schedule) == ((), {})


def test_the_registered_clean_up_runs_with_its_keyword_arguments():
    Schedule.objects.all().delete()
    assert ensure_schedules() >= 1
    assert ensure_schedules() == 0
    cleanup = Schedule.objects.get(name__startswith="cleanup")
    assert cleanup.func == "scheduler.recurring.create_task"
    assert _called_with(cleanup) == ((), {"task_type": "cleanup", "name": "daily clean-up"})


def test_a_platforms_dm_schedules_run_for_that_platform_and_host():
    names = schedules_ensure(platform="tiktok", host="mac-2")
    assert names == ["dm-sync:tiktok:mac-2", "dm-outreach:tiktok:mac-2"]
    for name in names:
        schedule = Schedule.objects.get(name=name)
        assert schedule.cluster == "safari-mac-2"
        assert _called_with(schedule) == (("tiktok", "mac-2"), {})
