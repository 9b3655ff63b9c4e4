import pytest
from django.contrib.auth import get_user_model
from knox.models import AuthToken
from rest_framework.test import APIClient

pytest_plugins = ["tests.sora_fixtures"]


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.create_user(
        username="owner", password="owner-pass-123", is_staff=True, is_superuser=True
    )


@pytest.fixture
def api(staff_user):
    """An API client authenticated by token, as scripts and old clients call us."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token(staff_user)}")
    return client


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
