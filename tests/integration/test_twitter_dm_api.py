"""X/Twitter DMs through the API, dispatcher, handler and ledger, against the X simulator."""

import pytest

from dm.simulator import TwitterDMSim
from tests import dm_factories as s

pytestmark = pytest.mark.django_db
PLATFORM = "twitter"


@pytest.fixture
def server(settings):
    s.open_all_day(settings, PLATFORM)
    with s.platform_sim(settings, TwitterDMSim, PLATFORM) as running:
        yield running


def test_a_dm_is_sent_once_and_logged_in_the_crm(api, server, run_on_commit):
    s.scenario_sent_once_and_logged_in_the_crm(api, server, run_on_commit, PLATFORM)


def test_a_crash_after_delivery_is_verified_and_not_resent(api, server, run_on_commit):
    s.scenario_crash_after_delivery_is_verified_not_resent(
        api, server, run_on_commit, PLATFORM, verifiable=False
    )


def test_an_unverified_success_counts_as_sent(api, server, run_on_commit):
    s.scenario_unverified_success_is_sent_never_retried(api, server, run_on_commit, PLATFORM)


def test_a_429_defers_the_dm_with_a_doubling_cooldown(api, server, run_on_commit):
    s.scenario_429_defers_with_a_doubling_cooldown(api, server, run_on_commit, PLATFORM)


def test_logged_out_pauses_the_account_until_a_good_probe(api, server, run_on_commit):
    s.scenario_logged_out_sets_a_health_pause_until_a_good_probe(
        api, server, run_on_commit, PLATFORM
    )


@pytest.mark.parametrize("delivered", [True, False])
def test_a_killed_worker_is_verified_before_any_resend(api, server, run_on_commit, delivered):
    task = s.scenario_a_killed_worker_verifies_before_sending_again(
        api, server, run_on_commit, PLATFORM, delivered=delivered, verifiable=False
    )
    assert "verified" not in task.result["note"]  # no trustworthy read: a human decided


def test_an_unverifiable_send_blocks_for_a_human(api, server, run_on_commit):
    s.scenario_unverifiable_send_blocks_and_a_human_decides(api, server, run_on_commit, PLATFORM)


def test_outreach_guards(api, server, run_on_commit):
    s.scenario_guards_refuse_dnc_and_repeated_cold_dms(api, server, run_on_commit, PLATFORM)


def test_the_hourly_cap_makes_the_next_dm_wait_with_its_reason(
    api, server, run_on_commit, settings
):
    from dm.models import AccountLimit

    s.send_via_api(api, PLATFORM, "u1", "one")
    s.cycle(run_on_commit)
    AccountLimit.objects.filter(account__platform=PLATFORM).update(hourly_cap=1)
    waiting = s.send_via_api(api, PLATFORM, "u2", "two")
    s.cycle(run_on_commit)
    waiting.refresh_from_db()
    assert waiting.status == "pending"
    assert waiting.wait_reason.startswith("X: hourly cap 1 reached, next slot ")
    assert len(s.deliveries(server)) == 1


def test_conversations_are_read_through_the_service(api, server, run_on_commit):
    s.send_via_api(api, PLATFORM, "maya_builds", "hello")
    s.cycle(run_on_commit)
    answer = api.get("/api/dm/conversations", {"platform": PLATFORM})
    assert answer.status_code == 200
    assert [c["username"] for c in answer.json()["conversations"]] == ["maya_builds"]
    bad = api.get("/api/dm/conversations", {"platform": "myspace"})
    assert bad.status_code == 400
    assert "unknown dm platform" in bad.json()["error"]
