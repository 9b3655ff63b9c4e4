"""The dashboard form and `scheduler schedule` refuse what the API refuses, with the same
words; and the clean-up keeps what it must."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from dm.accounts import account_get_or_create
from dm.models import AccountLimit
from scheduler import services
from scheduler.dispatcher import Dispatcher
from scheduler.models import Event, Task
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

FETCH = {"HTTP_X_REQUESTED_WITH": "fetch"}
INTERNAL = ["webhook", "cleanup", "probe", "sora_check"]


def run(*args):
    out = StringIO()
    call_command("scheduler", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def browser(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


# --- CLI ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("internal", INTERNAL)
def test_the_cli_refuses_internal_types(internal):
    with pytest.raises(CommandError, match=f"type: '{internal}' tasks are internal"):
        run("schedule", "--type", internal, "--payload", '{"days": -1}')
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--type", "dm", "--platform", "tiktok", "--payload", '{"username": "m"}'], "text"),
        (["--type", "dm", "--platform", "tiktok", "--payload", '{"text": "a"}'], "username"),
        (["--type", "dm", "--payload", '{"username": "m", "text": "hi"}'], "platform"),
        (["--type", "comment", "--platform", "myspace", "--payload", "{}"], "platform"),
        (["--type", "check", "--at", "+999999999d"], "too far ahead"),
        (["--type", "check", "--at", "9999-12-31T23:59:59-14:00"], "out of range"),
        (["--type", "check", "--at", "9999-12-31T00:00:00+00:00"], "scheduledFor"),
        (["--type", "check", "--priority", str(10**30)], "priority"),
        (["--type", "check", "--depends", str(10**30)], "dependencies"),
        (["--type", "check", "--payload", '{"note": "\\udfff"}'], "payload.note"),
        (["--type", "check", "--payload", "[" * 5000 + "]" * 5000], "--payload"),
        (["--type", "check", "--name", "n" * 201], "name"),
    ],
)  # fmt: skip
def test_the_cli_explains_bad_input_and_writes_nothing(args, message):
    with pytest.raises(CommandError, match=message.replace("+", r"\+")):
        run("schedule", *args)
    assert not Task.objects.exists()


def test_the_cli_queue_limit_is_bounded():
    with pytest.raises(CommandError, match="--limit"):
        run("queue", "--limit", str(10**30))


def test_the_cli_key_is_bound_to_what_was_asked():
    assert run("schedule", "--type", "check", "--key", "k", "--payload", '{"seconds": 1}')
    again = run("schedule", "--type", "check", "--key", "k", "--payload", '{"seconds": 1}')
    assert again.startswith("Already scheduled")
    with pytest.raises(CommandError, match="different request"):
        run("schedule", "--type", "check", "--key", "k", "--payload", '{"seconds": 2}')
    assert Task.objects.count() == 1


def test_the_cli_cannot_take_an_internal_key():
    run("schedule", "--type", "check", "--key", "recurring:cleanup:20260101T0000")
    task, created = services.task_schedule(
        type="cleanup", idempotency_key="recurring:cleanup:20260101T0000"
    )
    assert created
    assert task.type == "cleanup"


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--min-gap", 10**12), ("--max-gap", 10**12), ("--hourly", 10**12), ("--daily", 10**9)],
)
def test_the_cli_bounds_account_limits(flag, value):
    account = account_get_or_create(platform="tiktok")
    before = list(AccountLimit.objects.filter(account=account).values())
    with pytest.raises(CommandError, match="must be between 0 and"):
        run("platform", "limits", "--platform", "tiktok", flag, str(value))
    assert list(AccountLimit.objects.filter(account=account).values()) == before


def test_the_admin_form_bounds_account_limits():
    account = account_get_or_create(platform="tiktok")
    limit = AccountLimit.objects.filter(account=account).first() or AccountLimit(
        account=account,
        action="dm",
        hourly_cap=1,
        daily_cap=1,
        min_gap_seconds=1,
        max_gap_seconds=2,
    )
    limit.min_gap_seconds = limit.max_gap_seconds = 10**12
    with pytest.raises(ValidationError) as error:
        limit.full_clean()
    assert {"min_gap_seconds", "max_gap_seconds"} <= set(error.value.message_dict)


# --- dashboard ----------------------------------------------------------------------------------


def test_the_form_offers_only_client_types(browser):
    html = browser.get("/").content.decode()
    assert '<option value="dm"' in html
    for internal in INTERNAL:
        assert f'<option value="{internal}"' not in html


@pytest.mark.parametrize("internal", INTERNAL)
def test_the_form_refuses_internal_types(browser, internal):
    answer = browser.post("/dashboard/schedule", {"type": internal}, **FETCH)
    assert answer.status_code == 400
    assert f"'{internal}' tasks are internal" in answer.json()["error"]
    assert "type" in answer.json()["fields"]
    assert not Task.objects.exists()


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"type": "dm", "platform": "tiktok", "payload": '{"username": "m"}'}, "payload.text"),
        ({"type": "comment", "platform": "threads", "payload": '{"text": "a"}'}, "payload.postUrl"),
        ({"type": "sync", "platform": "myspace"}, "platform"),
        ({"type": "check", "when": "+999999999d"}, "when"),
        ({"type": "check", "when": "9999-12-31T23:59:59-14:00"}, "when"),
        ({"type": "check", "payload": '{"note": "\\udfff"}'}, "payload.note"),
        ({"type": "check", "payload": '{"n": 1' + "0" * 5000 + "}"}, "payload"),
        ({"type": "check", "name": "n" * 201}, "name"),
    ],
)
def test_the_form_shows_the_error_beside_its_field(browser, form, field):
    answer = browser.post("/dashboard/schedule", form, **FETCH)
    assert answer.status_code == 400
    assert field in answer.json()["fields"], answer.json()
    assert not Task.objects.exists()


# --- clean-up -----------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [-1, 0, 10**6])
def test_cleanup_refuses_a_retention_out_of_bounds(days):
    with pytest.raises(ValidationError) as error:
        services.task_schedule(type="cleanup", payload={"days": days})
    assert "payload.days" in error.value.message_dict
    assert not Task.objects.exists()


def test_a_stored_cleanup_with_a_bad_retention_deletes_nothing(run_on_commit):
    old = timezone.now() - timedelta(days=90)
    Event.objects.create(kind="task.completed", created_at=old)
    stored, _ = services.task_schedule(type="cleanup", payload={"days": 30})
    Task.objects.filter(pk=stored.pk).update(payload={"days": -1})  # stored before the check
    run_on_commit(Dispatcher(name="d1").cycle)
    cleanup = Task.objects.get(type="cleanup")
    assert cleanup.status == "failed"
    assert "retention" in cleanup.error
    assert Event.objects.filter(created_at=old).exists()


def test_cleanup_keeps_the_events_of_unfinished_tasks(run_on_commit):
    old = timezone.now() - timedelta(days=90)
    kept = {}
    for status in ("pending", "scheduled", "running", "blocked"):
        # On another host: as made here, they would hold the workers the clean-up needs.
        task = TaskFactory(
            status=status, scheduled_for=timezone.now() + timedelta(days=1), safari_host="other"
        )
        kept[status] = Event.objects.create(kind="task.created", task=task, created_at=old).pk
    done = TaskFactory(status="completed", finished_at=timezone.now())
    gone = Event.objects.create(kind="task.created", task=done, created_at=old).pk
    loose = Event.objects.create(kind="scheduler.paused", created_at=old).pk
    services.task_schedule(type="cleanup", payload={"days": 30})
    run_on_commit(Dispatcher(name="d1").cycle)
    assert Task.objects.get(type="cleanup").status == "completed"
    assert set(Event.objects.filter(pk__in=kept.values()).values_list("pk", flat=True)) == set(
        kept.values()
    )
    assert not Event.objects.filter(pk__in=[gone, loose]).exists()


# --- the other controls -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "form", "field"),
    [
        ("/dashboard/pause", {"reason": "nul \x00 here"}, "reason"),
        ("/dashboard/pause", {"platform": "p" * 33}, "platform"),
        ("/dashboard/resume", {"platform": "nul\x00"}, "platform"),
    ],
)
def test_pause_controls_refuse_text_the_database_cannot_hold(browser, path, form, field):
    from scheduler.models import Pause

    answer = browser.post(path, form, **FETCH)
    assert answer.status_code == 400
    assert field in answer.json()["fields"]
    assert not Pause.objects.exists()


def test_a_decision_note_with_a_nul_is_refused(browser):
    task = TaskFactory(status="blocked")
    answer = browser.post(
        f"/dashboard/tasks/{task.pk}/decide", {"decision": "done", "note": "a\x00b"}, **FETCH
    )
    assert answer.status_code == 400
    task.refresh_from_db()
    assert task.status == "blocked"


def test_the_cli_pause_reason_is_bounded():
    with pytest.raises(CommandError, match="reason"):
        run("pause", "--reason", "r" * 301)


# --- rescheduling: the same time bounds -----------------------------------------------------------


def test_rescheduling_far_ahead_is_a_clear_error_on_every_front(api, browser):
    task = TaskFactory()
    before = Task.objects.get(pk=task.pk).scheduled_for
    answer = api.patch(
        f"/api/scheduler/task/{task.pk}", {"scheduledFor": "9999-12-31T00:00:00Z"}, format="json"
    )
    assert answer.status_code == 400
    assert "scheduledFor" in answer.json()["fields"]
    form = browser.post(f"/dashboard/tasks/{task.pk}/reschedule", {"when": "+999999999d"}, **FETCH)
    assert form.status_code == 400
    assert "too far ahead" in form.json()["error"]
    with pytest.raises(CommandError, match="too far ahead"):
        run("reschedule", str(task.pk), "+999999999d")
    assert Task.objects.get(pk=task.pk).scheduled_for == before
