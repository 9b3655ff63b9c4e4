"""What a probe reads from a service, as a ProbeReading (no database: a stub service)."""

from __future__ import annotations

from typing import Any

import pytest

from dm.probing import ProbeReading, probe_comments, probe_dm
from safari_auto.http import ServiceError

ON_TIKTOK = "https://www.tiktok.com/messages"


class StubService:
    def __init__(
        self,
        *,
        ok: bool = True,
        status: dict[str, Any] | None = None,
        limits: dict[str, Any] | None = None,
    ) -> None:
        self.ok = ok
        self._status = status
        self._limits = limits if limits is not None else {"hourly": 10}

    def health(self, platform: str) -> dict[str, Any]:
        return {"ok": self.ok, "detail": "connection refused"}

    def status(self, platform: str) -> dict[str, Any]:
        if self._status is None:
            raise ServiceError("no status", permanent=False)
        return self._status

    def rate_limits(self, platform: str) -> dict[str, Any]:
        return self._limits


def _status(*, logged_in: bool, url: str = ON_TIKTOK, on_platform: bool = True) -> dict[str, Any]:
    return {"logged_in": logged_in, "on_platform": on_platform, "current_url": url}


@pytest.mark.parametrize("probe", [probe_dm, probe_comments])
def test_a_service_that_is_down_is_unhealthy_with_the_session_unknown(probe):
    reading = probe(StubService(ok=False), "tiktok")

    assert reading == ProbeReading(False, None, "service down: connection refused")


@pytest.mark.parametrize("probe", [probe_dm, probe_comments])
def test_no_status_means_no_safari_session(probe):
    reading = probe(StubService(), "tiktok")

    assert (reading.healthy, reading.logged_in) == (False, None)
    assert reading.reason.startswith("no Safari session")


@pytest.mark.parametrize("probe", [probe_dm, probe_comments])
def test_a_logged_out_session_needs_a_human(probe):
    reading = probe(StubService(status=_status(logged_in=False)), "tiktok")

    assert reading == ProbeReading(False, False, "logged out: a human must log in in Safari")


def test_a_captcha_on_screen_needs_a_human():
    service = StubService(status=_status(logged_in=True, url=ON_TIKTOK + "?captcha=1"))

    assert probe_dm(service, "tiktok") == ProbeReading(
        False, True, "CAPTCHA on screen: a human must solve it"
    )


def test_a_suspended_account_is_unhealthy():
    limits = {"status": {"suspended": True, "message": "banned for a week"}}
    service = StubService(status=_status(logged_in=True), limits=limits)

    assert probe_dm(service, "tiktok") == ProbeReading(False, True, "suspended: banned for a week")


def test_a_front_tab_on_another_site_leaves_the_session_unknown_but_keeps_the_limits():
    other = _status(logged_in=False, on_platform=False, url="https://x.com/messages")
    reading = probe_dm(StubService(status=other), "tiktok")

    assert (reading.healthy, reading.logged_in) == (None, None)
    assert "x.com/messages" in reading.reason
    assert reading.service_limits == {"hourly": 10}


def test_a_healthy_dm_service_reports_its_limits():
    reading = probe_dm(StubService(status=_status(logged_in=True)), "tiktok")

    assert reading == ProbeReading(True, True, "", {"hourly": 10})


def test_a_healthy_comments_service_has_no_limits_to_report():
    assert probe_comments(StubService(status=_status(logged_in=True)), "tiktok") == ProbeReading(
        True, True
    )
