"""SERVICE_TIMEOUTS: per-service, per-call-kind timeouts read strictly from the environment."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from safari_auto.env import env_timeouts

DEFAULTS = {"tiktok_dm": {"send": 150.0, "read": 60.0, "status": 20.0}}


def test_entries_override_the_defaults(monkeypatch):
    monkeypatch.setenv("T", "tiktok_dm.send=200, tiktok_dm.status=5")
    assert env_timeouts("T", DEFAULTS) == {
        "tiktok_dm": {"send": 200.0, "read": 60.0, "status": 5.0}
    }
    assert DEFAULTS["tiktok_dm"]["send"] == 150.0  # the defaults are not changed


@pytest.mark.parametrize("raw", ["tiktok_dm.write=5", "myspace_dm.send=5", "tiktok_dm.send=soon"])
def test_a_typo_is_an_error_at_start_up(monkeypatch, raw):
    monkeypatch.setenv("T", raw)
    with pytest.raises(ImproperlyConfigured):
        env_timeouts("T", DEFAULTS)


def test_the_default_send_timeouts_cover_the_real_durations_with_margin(settings):
    """A TikTok send takes about 60 s on a real Mac, Instagram 27 s, X 18 s."""
    timeouts = settings.SERVICE_TIMEOUTS
    assert timeouts["tiktok_dm"]["send"] >= 2 * 60
    assert timeouts["instagram_dm"]["send"] >= 2 * 27
    assert timeouts["twitter_dm"]["send"] >= 2 * 18
