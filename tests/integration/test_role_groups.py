"""The role groups exist after `migrate`, carry the right permissions, and can be granted
from the command line; API tokens follow the roles too."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from crm.services import apikey_create
from safari_auto.roles import OPERATE, READ
from tests.conftest import make_user, token_client

pytestmark = pytest.mark.django_db


def _perms(name):
    group = Group.objects.get(name=name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


def test_the_groups_exist_after_migrate_with_their_permissions():
    viewer, operator = _perms("viewer"), _perms("operator")
    assert {READ, "scheduler.view_task", "crm.view_contact", "sora.view_video"} <= viewer
    assert not {OPERATE, "scheduler.change_task", "crm.delete_contact"} & viewer
    assert {READ, OPERATE, "scheduler.change_task", "crm.delete_contact"} <= operator
    assert {"sora.view_credittrigger"} <= operator
    credentials = {"crm.view_apikey", "auth.change_user", "sora.change_credittrigger"}
    assert not credentials & (viewer | operator)
    assert not any(p.startswith(("auth.", "knox.", "axes.", "django_q.")) for p in operator)


def test_the_role_command_grants_and_takes_away(capsys):
    user = make_user("ana")
    call_command("role", "--user", "ana", "--role", "operator")
    assert get_user_model().objects.get(pk=user.pk).has_perm(OPERATE)
    assert "ana: operator" in capsys.readouterr().out
    call_command("role", "--user", "ana", "--role", "operator", "--remove")
    assert not get_user_model().objects.get(pk=user.pk).has_perm(OPERATE)
    with pytest.raises(CommandError):
        call_command("role", "--user", "nobody", "--role", "viewer")


def test_ensure_admin_makes_a_superuser(capsys):
    call_command("ensure_admin", "--username", "boss")
    assert get_user_model().objects.get(username="boss").is_superuser


def test_tokens_follow_the_roles(viewer_api, operator_api):
    nobody = token_client(make_user("nobody"))
    assert nobody.get("/api/scheduler/queue").status_code == 403
    assert nobody.get("/api/contacts").status_code == 403
    assert viewer_api.get("/api/scheduler/queue").status_code == 200
    assert viewer_api.get("/api/contacts").status_code == 200
    assert viewer_api.post("/api/scheduler/stop").status_code == 403
    assert viewer_api.delete("/api/contacts/1").status_code == 403
    assert operator_api.post("/api/scheduler/stop").status_code == 200
    assert operator_api.delete("/api/contacts/1").status_code == 404


def test_a_crm_key_reaches_the_crm_api_only():
    _, raw = apikey_create(name="old-client")
    key = APIClient(HTTP_X_API_KEY=raw)
    assert key.get("/api/contacts").status_code == 200
    assert key.get("/api/scheduler/queue").status_code in (401, 403)
    assert key.post("/api/scheduler/stop").status_code in (401, 403)
    assert key.get("/api/resources/sora").status_code in (401, 403)
