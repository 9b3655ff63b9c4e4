"""Prospect discovery against the DM simulators' `real` profile: each platform's own field
names (CONTRACTS.md "Discovery"), through the dispatcher, handler, client and local CRM."""

from __future__ import annotations

import pytest

from crm.client import get_client
from dm.simulator import InstagramDMSim, TikTokDMSim, TwitterDMSim
from scheduler.services import task_schedule
from tests import dm_factories as s

pytestmark = pytest.mark.django_db


def discover(run_on_commit, platform: str, **payload):
    task, _ = task_schedule(type="discovery", platform=platform, payload=payload)
    s.cycle(run_on_commit)
    task.refresh_from_db()
    return task


def test_instagram_candidates_qualify_by_their_icp_score_against_the_threshold(
    settings, run_on_commit
):
    settings.DISCOVERY_MIN_SCORE = 50
    with s.platform_sim(settings, InstagramDMSim, "instagram"):
        task = discover(run_on_commit, "instagram", maxCandidates=6)

    assert task.status == "completed", task.error
    assert (task.result["found"], task.result["upserted"]) == (6, 5)  # 83..55 pass, 48 not
    crm = get_client()
    contact = crm.contact_by_handle(platform="instagram", username="instagram_prospect_1")
    assert contact is not None
    assert contact["display_name"] == "Prospect 1"  # fullName, not the handle
    assert crm.contact_by_handle(platform="instagram", username="instagram_prospect_6") is None


def test_a_min_score_in_the_payload_is_the_threshold(settings, run_on_commit):
    with s.platform_sim(settings, InstagramDMSim, "instagram"):
        task = discover(run_on_commit, "instagram", maxCandidates=6, minScore=69)

    assert task.status == "completed", task.error
    assert task.result["usernames"] == [f"instagram_prospect_{n}" for n in (1, 2, 3)]


def test_the_crm_check_is_sent_as_checkCRM(settings, run_on_commit):
    with s.platform_sim(settings, InstagramDMSim, "instagram") as server:
        discover(run_on_commit, "instagram", maxCandidates=1, checkCrm=True)
        body = s.seen(server)[-1]["json"]

    assert body["checkCRM"] is True
    assert "checkCrm" not in body


def test_tiktok_candidates_keep_the_services_own_verdict(settings, run_on_commit):
    settings.DISCOVERY_MIN_SCORE = 0  # the service said no to some: that wins
    with s.platform_sim(settings, TikTokDMSim, "tiktok"):
        task = discover(run_on_commit, "tiktok", maxCandidates=6, minScore=60)

    assert task.status == "completed", task.error
    assert task.result["upserted"] == 4


def test_x_discovery_needs_a_spare_tab_and_finds_nobody_on_a_dry_run(settings, run_on_commit):
    with s.platform_sim(settings, TwitterDMSim, "twitter"):
        real_run = discover(run_on_commit, "twitter", maxCandidates=5)
        dry_run = discover(run_on_commit, "twitter", maxCandidates=5, dryRun=True)

    assert real_run.status == "pending"  # retried later, not "completed" with invented people
    assert "spare x.com tab" in real_run.error
    assert dry_run.status == "completed", dry_run.error
    assert (dry_run.result["found"], dry_run.result["upserted"]) == (0, 0)
