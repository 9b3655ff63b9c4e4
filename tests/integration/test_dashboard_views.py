"""The dashboard page and its controls: staff only, CSRF-protected, calling the services."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from safari_auto.demo import simulator_url
from scheduler import events, services
from scheduler.models import Event, Pause, Task
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db

FETCH = {"HTTP_X_REQUESTED_WITH": "fetch"}


@pytest.fixture
def browser(staff_user):
    client = Client()
    client.force_login(staff_user)
    return client


def test_the_page_sends_anonymous_visitors_to_the_admin_login(client):
    answer = client.get("/")
    assert answer.status_code == 302
    assert answer["Location"].startswith("/admin/login/?next=/")


def test_a_logged_in_user_without_a_role_is_refused_even_as_staff(client):
    user = get_user_model().objects.create_user(
        username="nobody", password="nobody-pass-1", is_staff=True
    )
    client.force_login(user)
    assert client.get("/").status_code == 403
    assert client.post("/dashboard/pause").status_code == 403
    assert not Pause.objects.exists()


def test_a_viewer_sees_the_page_but_cannot_use_the_controls(client, viewer):
    client.force_login(viewer)
    assert client.get("/").status_code == 200
    assert client.get("/dashboard/fragments").status_code == 200
    assert client.post("/dashboard/pause").status_code == 403
    assert not Pause.objects.exists()


def test_an_operator_uses_the_controls(client, operator):
    client.force_login(operator)
    assert client.post("/dashboard/pause").status_code == 302
    assert Pause.objects.exists()


def test_the_page_shows_each_section_in_the_dashboards_words(browser):
    now = timezone.now()
    TaskFactory(name="running one", status="running", started_at=now)
    TaskFactory(name="claimed one", status="scheduled")
    TaskFactory(name="parked send", status="blocked", wait_reason="send outcome unknown")
    TaskFactory(name="due one", wait_reason="Safari on local is busy")
    TaskFactory(name="later one", scheduled_for=now + timedelta(minutes=5, seconds=30))
    events.record(
        "dm.reply_received",
        subject="message",
        message="hi there",
        data={"username": "ana", "platform": "tiktok", "text": "love this"},
    )
    html = browser.get("/").content.decode()
    order = [
        html.index(word)
        for word in ("RUNNING", "STARTING", "NEEDS YOU", "WAITING", "SCHEDULED</span>")
    ]
    assert order == sorted(order)
    assert "send outcome unknown" in html
    assert "Safari on local is busy" in html
    assert "in 5m" in html
    assert "Mark sent" in html
    assert "Send again" in html
    assert "love this" in html  # the inbox
    assert "dm.reply_received" in html  # the activity feed
    assert "scheduler no dispatcher" in html
    assert "DEMO" not in html


def test_demo_mode_is_labelled(browser, settings):
    settings.DEMO = True
    settings.SERVICE_URLS = {key: simulator_url(key) for key in settings.SERVICE_URLS}
    html = browser.get("/").content.decode()
    assert "[DEMO]" in html
    assert 'class="badge demo-badge"' in html


def test_the_demo_badge_is_not_shown_while_a_service_is_real(browser, settings):
    settings.DEMO = True
    settings.SERVICE_URLS = {key: simulator_url(key) for key in settings.SERVICE_URLS}
    settings.SERVICE_URLS["tiktok_dm"] = "http://127.0.0.1:3002"
    html = browser.get("/").content.decode()
    assert "[DEMO]" not in html
    assert "demo-badge" not in html
    assert "NOT A DEMO: tiktok_dm real" in html


def test_the_queue_is_paginated(browser):
    TaskFactory.create_batch(60)
    first = browser.get("/").content.decode()
    assert first.count('class="task state-') == 25 + 0  # nothing finished yet
    assert "page 1 of 3" in first
    last = browser.get("/?page=3").content.decode()
    assert "page 3 of 3" in last
    assert last.count('data-state="WAITING"') == 10


def test_expected_starts_come_from_the_projection(browser):
    now = timezone.now()
    first = TaskFactory(name="first", req_safari_exclusive=True)
    second = TaskFactory(name="second", req_safari_exclusive=True)
    page = browser.get("/dashboard/fragments", **FETCH).json()["fragments"]["queue"]
    # Safari-exclusive tasks on one host follow each other: the second after the first's ~30 s.
    assert f'data-task-id="{first.pk}"' in page
    assert f'data-task-id="{second.pk}"' in page
    assert page.count("expected <time") == 2
    assert now.isoformat()[:10] in page


def test_fragments_need_staff(client):
    assert client.get("/dashboard/fragments").status_code == 302


def test_pause_and_resume_the_scheduler_and_a_platform(browser):
    answer = browser.post("/dashboard/pause", {"next": "/"})
    assert answer.status_code == 302
    assert Pause.objects.filter(scope="all").exists()
    assert browser.post("/dashboard/pause", {"platform": "tiktok"}, **FETCH).json()["ok"]
    assert Pause.objects.filter(scope="platform", platform="tiktok").exists()
    html = browser.get("/").content.decode()
    assert "Resume scheduler" in html
    assert 'data-platform="tiktok"' in html
    assert browser.post("/dashboard/resume", {"platform": "tiktok"}, **FETCH).json()["ok"]
    assert browser.post("/dashboard/resume", {}, **FETCH).json()["message"] == "scheduler resumed"
    assert not Pause.objects.exists()
    assert Event.objects.filter(kind="platform.resumed").exists()


def test_cancel_retry_and_reschedule_call_the_services(browser):
    task = TaskFactory()
    assert browser.post(f"/dashboard/tasks/{task.pk}/cancel", **FETCH).json()["ok"]
    task.refresh_from_db()
    assert task.status == "cancelled"
    assert browser.post(f"/dashboard/tasks/{task.pk}/retry", **FETCH).json()["ok"]
    task.refresh_from_db()
    assert task.status == "pending"
    answer = browser.post(f"/dashboard/tasks/{task.pk}/reschedule", {"when": "+2h"}, **FETCH)
    assert answer.json()["ok"]
    task.refresh_from_db()
    assert task.scheduled_for > timezone.now() + timedelta(minutes=119)


def test_a_bad_request_becomes_a_message_not_an_error_page(browser):
    task = TaskFactory(status="completed")
    answer = browser.post(f"/dashboard/tasks/{task.pk}/cancel", **FETCH)
    assert answer.status_code == 409
    assert "already completed" in answer.json()["error"]
    assert browser.post("/dashboard/tasks/999999/retry", **FETCH).status_code == 404
    bad_time = browser.post(f"/dashboard/tasks/{task.pk}/reschedule", {"when": "soonish"}, **FETCH)
    assert bad_time.status_code == 400
    assert "cannot read" in bad_time.json()["error"]
    # Without fetch: a redirect and a message on the page.
    answer = browser.post(f"/dashboard/tasks/{task.pk}/cancel", {"next": "/?page=1"}, follow=True)
    assert "already completed" in answer.content.decode()


def test_the_next_target_must_stay_on_this_site(browser):
    answer = browser.post("/dashboard/pause", {"next": "https://evil.example/"})
    assert answer["Location"] == "/"


def test_decide_a_blocked_send(browser):
    task = TaskFactory(status="blocked", wait_reason="did it send?")
    assert browser.post(f"/dashboard/tasks/{task.pk}/decide", {"decision": "done"}, **FETCH).json()[
        "ok"
    ]
    task.refresh_from_db()
    assert task.status == "completed"
    again = TaskFactory(status="blocked")
    browser.post(f"/dashboard/tasks/{again.pk}/decide", {"decision": "retry"}, **FETCH)
    again.refresh_from_db()
    assert again.status == "pending"
    wrong = TaskFactory(status="blocked")
    answer = browser.post(f"/dashboard/tasks/{wrong.pk}/decide", {"decision": "maybe"}, **FETCH)
    assert answer.status_code == 400
    assert "decide with one of" in answer.json()["error"]


def test_a_types_own_decision_words_become_its_buttons(browser, monkeypatch):
    from scheduler import registry

    spec = registry.TaskType(
        "parked", lambda ctx: None, extra={"decisions": {"sent": "done", "resend": "retry"}}
    )
    monkeypatch.setitem(registry._types, "parked", spec)
    task = TaskFactory(type="parked", status="blocked", wait_reason="unknown outcome")
    html = browser.get("/").content.decode()
    assert 'value="sent" class="primary">Mark sent<' in html
    assert 'value="resend" class="primary">Send again<' in html
    answer = browser.post(f"/dashboard/tasks/{task.pk}/decide", {"decision": "sent"}, **FETCH)
    assert answer.json()["ok"]
    task.refresh_from_db()
    assert task.status == "completed"


def test_schedule_a_task_through_the_form(browser):
    answer = browser.post(
        "/dashboard/schedule",
        {
            "type": "check",
            "name": "from the form",
            "priority": "2",
            "when": "+5m",
            "payload": '{"seconds": 1}',
        },
        **FETCH,
    )
    assert answer.json()["ok"], answer.json()
    task = Task.objects.get(name="from the form")
    assert task.priority == 2
    assert task.payload == {"seconds": 1}
    assert task.scheduled_for > timezone.now() + timedelta(minutes=4)
    assert Event.objects.filter(kind="task.created", task=task).exists()


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"type": "nope"}, "unknown task type"),
        ({"type": "check", "payload": "{oops"}, "not JSON"),
        ({"type": "check", "payload": "[1]"}, "JSON object"),
        ({"type": "check", "priority": "high"}, "whole number"),
        ({"type": "check", "priority": "9"}, "between 1"),
    ],
)
def test_the_schedule_form_explains_what_is_wrong(browser, form, error):
    answer = browser.post("/dashboard/schedule", form, **FETCH)
    assert answer.status_code == 400
    assert error in answer.json()["error"]
    assert not Task.objects.exists()


def test_controls_refuse_a_post_without_the_csrf_token(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    assert client.post("/dashboard/pause").status_code == 403
    assert not Pause.objects.exists()
    page = client.get("/")
    token = page.cookies["csrftoken"].value
    answer = client.post("/dashboard/pause", {"csrfmiddlewaretoken": token}, **FETCH)
    assert answer.status_code == 200
    assert Pause.objects.exists()


def test_controls_only_accept_post(browser):
    assert browser.get("/dashboard/pause").status_code == 405


def test_resources_show_platforms_and_sora_credits_from_the_status_sections(browser, monkeypatch):
    from scheduler import registry

    soon = timezone.now() + timedelta(minutes=12)
    sections = {
        "platforms": lambda: [
            {
                "platform": "tiktok",
                "account": "me",
                "isReady": True,
                "isLoggedIn": True,
                "messagesToday": 4,
                "limits": {"daily": 50},
            },
            {"platform": "youtube", "isReady": False, "healthPause": "CAPTCHA"},
            {"platform": "mastodon", "isReady": False, "waitReason": "outside active hours"},
            {
                "platform": "x2",
                "isReady": False,
                "waitReason": "hourly cap reached",
                "nextAllowedAt": (soon + timedelta(minutes=30)).isoformat(),
            },
            {"platform": "instagram", "isReady": False, "isLoggedIn": False},
            {
                "platform": "twitter",
                "isReady": False,
                "isLoggedIn": True,
                "cooldownUntil": soon.isoformat(),
                "messagesToday": 9,
            },
        ],
        "soraCredits": lambda: {
            "freeCredits": 7,
            "paidCredits": 2,
            "totalCredits": 9,
            "estimatedRefreshTime": soon.isoformat(),
        },
    }
    monkeypatch.setattr(registry, "_status_sections", sections)
    services.scheduler_pause(platform="threads", reason="taking a break")
    html = browser.get("/").content.decode()
    assert 'data-credit="free">7<' in html
    assert 'data-credit="paid">2<' in html
    assert "in 11m" in html or "in 12m" in html
    assert "today 4 / 50 messages" in html
    assert "unhealthy" in html
    assert "hourly cap reached" in html
    assert 'status-waiting" data-platform="mastodon"' in html
    assert "logged out" in html
    assert "rate-limited" in html
    assert "taking a break" in html  # a paused platform with no data still shows, to resume


def test_the_page_is_empty_gracefully(browser, monkeypatch):
    from scheduler import registry

    monkeypatch.setattr(registry, "_status_sections", {})
    html = browser.get("/").content.decode()
    assert "No credit reading yet." in html
    assert "No platform data yet." in html
    assert "Nothing queued." in html
    assert "No new replies." in html


def test_a_task_waiting_on_dependencies_says_so(browser):
    first = TaskFactory()
    TaskFactory(name="dependent", pending_deps=1).dependencies.set([first])
    html = browser.get("/").content.decode()
    assert "after 1 unfinished dependency" in html


def test_the_page_with_ten_thousand_queued_tasks_stays_fast(
    browser, django_assert_max_num_queries, monkeypatch
):
    import time

    from scheduler import registry

    monkeypatch.setattr(registry, "_status_sections", {})  # other apps' sections, not ours

    now = timezone.now()
    Task.objects.bulk_create(
        [TaskFactory.build(scheduled_for=now + timedelta(seconds=i)) for i in range(10_000)],
        batch_size=2000,
    )
    browser.get("/")  # warm the template cache
    with django_assert_max_num_queries(30):
        start = time.perf_counter()
        answer = browser.get("/")
        elapsed = time.perf_counter() - start
    assert answer.status_code == 200
    assert "page 1 of 400" in answer.content.decode()
    assert elapsed < 1.0


def test_a_platform_between_two_sends_reads_ready_with_its_next_send(
    browser, settings, run_on_commit
):
    """The minimum gap after a send is the normal pace, not a rate limit; a cooldown is."""
    from dm import services as dm_services
    from dm.simulator import TikTokDMSim
    from tests import dm_factories as s

    s.open_all_day(settings, "tiktok", gap="120-300")
    with s.platform_sim(settings, TikTokDMSim, "tiktok"):
        dm_services.dm_send(platform="tiktok", username="maya", text="hey")
        s.cycle(run_on_commit)
    html = browser.get("/").content.decode()
    row = html.split('data-platform="tiktok"')[0].rsplit("<li", 1)[1]
    assert "status-ready" in row
    tiktok = html.split('data-platform="tiktok"')[1].split("</li>")[0]
    assert "next send" in tiktok
    assert "today 1 / 100 messages" in tiktok
    assert "resumes" not in tiktok


def test_sora_credits_with_only_a_total_say_the_split_is_unknown(browser, monkeypatch):
    from scheduler import registry

    sections = {
        "soraCredits": lambda: {"freeCredits": None, "paidCredits": None, "totalCredits": 12}
    }
    monkeypatch.setattr(registry, "_status_sections", sections)
    html = browser.get("/").content.decode()
    assert 'data-credit="total">12<' in html
    assert "the split into free and paid is unknown" in html
    assert 'data-credit="free"' not in html
    sections["soraCredits"] = lambda: {"freeCredits": None, "paidCredits": None, "totalCredits": -1}
    assert 'data-credit="total">unknown<' in browser.get("/").content.decode()
