import os
import signal
import sys
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from knox.models import AuthToken
from rest_framework.test import APIClient

pytest_plugins = ["tests.sora_fixtures"]


def make_user(username, role=None, **flags):
    """An active user, in the role's group (`viewer`, `operator`) when one is given."""
    user = get_user_model().objects.create_user(
        username=username, password=f"{username}-pass-123", **flags
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


def token_client(user):
    """An API client authenticated by token, as scripts and old clients call us."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(user)}")
    return client


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_user(
        username="owner", password="owner-pass-123", is_staff=True, is_superuser=True
    )


@pytest.fixture
def viewer(db):
    return make_user("viewer", "viewer")


@pytest.fixture
def operator(db):
    return make_user("operator", "operator")


@pytest.fixture
def api(staff_user):
    """The API as a superuser, by token."""
    return token_client(staff_user)


@pytest.fixture
def viewer_api(viewer):
    return token_client(viewer)


@pytest.fixture
def operator_api(operator):
    return token_client(operator)


def api_token(user):
    """A new API token for `user` (stored hashed: this is the only time it is seen)."""
    _, token = AuthToken.objects.create(user=user, expiry=None)
    return token


@pytest.fixture
def anon():
    return APIClient()


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run on-commit callbacks (signals, enqueues) inside a test transaction."""

    def _run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return _run


def pytest_configure(config):
    """A SIGTERM (a cancelled CI job, a `kill`) ends pytest through SystemExit, so the
    harness's exit hook still stops the processes the tests started."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    shift_clock(float(os.environ.get("TEST_CLOCK_SHIFT_HOURS") or 0))


def shift_clock(hours: float) -> None:
    """Run this process's clock `hours` ahead (it still ticks). CI runs the unit and
    integration tests twice, the second time 12 hours ahead: one run falls inside a
    09:00-21:00 day and one outside it, so a test that passes only at some hours of the day
    fails in every CI run. Only this process's clock moves; the processes the e2e tests start
    keep the real one."""
    if hours:
        import time_machine

        time_machine.travel(datetime.now(UTC) + timedelta(hours=hours), tick=True).start()


@pytest.fixture(autouse=True)
def no_processes_left_behind():
    """A test that started real processes (tests.e2e.harness.System) stops them, even when
    it fails while starting them; what it left running is stopped here and fails it."""
    yield
    from harness.system import stop_all

    left = stop_all()
    assert not left, f"processes left running by this test (now stopped): {left}"
