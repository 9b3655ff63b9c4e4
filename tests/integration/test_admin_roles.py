"""The admin follows the roles: staff flag plus a role gets in; a viewer reads, an operator
changes and runs actions; credentials and user accounts stay with superusers."""

import pytest
from django.contrib import admin
from django.test import Client

from safari_auto.roles import VIEWER, role_codenames
from scheduler.models import Task
from tests.conftest import make_user
from tests.factories import TaskFactory

pytestmark = pytest.mark.django_db


def _browser(user):
    client = Client()
    client.force_login(user)
    return client


def test_every_admin_action_needs_a_change_permission():
    """An action with no `permissions` runs for anyone who can see the list: a viewer."""
    loose = []
    for model, model_admin in admin.site._registry.items():
        meta = model._meta
        if not role_codenames(VIEWER, meta.app_label, meta.model_name):
            continue  # superusers only
        for func, name, _ in model_admin._get_base_actions():
            if not getattr(func, "allowed_permissions", ()):
                loose.append(f"{model._meta.label}.{name}")
    assert loose == []


def test_staff_without_a_role_and_a_viewer_without_staff_get_no_admin():
    for user in (make_user("nobody", is_staff=True), make_user("reader", "viewer")):
        answer = _browser(user).get("/admin/")
        assert answer.status_code == 302
        assert answer["Location"].startswith("/admin/login/")


def test_a_staff_viewer_reads_but_cannot_change_or_run_actions():
    task = TaskFactory(name="keep me")
    browser = _browser(make_user("reader", "viewer", is_staff=True))
    for page in ("scheduler/task", "scheduler/event", "crm/contact", "dm/platformaccount"):
        assert browser.get(f"/admin/{page}/").status_code == 200, page
    assert browser.get(f"/admin/scheduler/task/{task.pk}/change/").status_code == 200
    assert browser.get("/admin/scheduler/task/add/").status_code == 403
    assert browser.get("/admin/sora/trilogy/import/").status_code == 403
    browser.post(
        "/admin/scheduler/task/", {"action": "cancel_tasks", "_selected_action": [task.pk]}
    )
    assert Task.objects.get(pk=task.pk).status == "pending"
    for secret in ("crm/apikey", "auth/user", "knox/authtoken"):
        assert browser.get(f"/admin/{secret}/").status_code == 403, secret


def test_a_staff_operator_runs_actions_but_does_not_manage_logins_or_keys():
    task = TaskFactory(name="stop me")
    browser = _browser(make_user("boss", "operator", is_staff=True))
    browser.post(
        "/admin/scheduler/task/", {"action": "cancel_tasks", "_selected_action": [task.pk]}
    )
    assert Task.objects.get(pk=task.pk).status == "cancelled"
    assert browser.get("/admin/sora/trilogy/import/").status_code == 200
    for secret in ("crm/apikey", "auth/user", "auth/group", "django_q/schedule"):
        assert browser.get(f"/admin/{secret}/").status_code == 403, secret
