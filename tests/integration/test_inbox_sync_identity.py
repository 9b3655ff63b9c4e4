"""Inbox sync against the real services' habits (CONTRACTS.md "How the real services behave"):
lists show display names, TikTok stamps messages with the time of the read and numbers them
by position. Handles stay the identity, nothing is stored twice, a reply is announced once."""

from datetime import timedelta

import pytest
import requests

from crm.client import get_client
from crm.models import Contact, Message, PlatformAccount
from dm.simulator import InstagramDMSim, TikTokDMSim
from dm.simulator.server import Reply, Request
from dm.simulator.state import iso
from scheduler.models import Event, Task
from scheduler.services import task_schedule
from tests import dm_factories as s
from tests.sim_fixtures import configure, running

pytestmark = pytest.mark.django_db


class ReadTimeTikTok(TikTokDMSim):
    """TikTok as its own server code reads a conversation: every message stamped with the time
    of the read (an hour later at each read here) and ids numbered by position."""

    def reset(self) -> None:
        self.reads = 0
        super().reset()

    def messages(self, request: Request) -> Reply:
        reply = super().messages(request)
        self.reads += 1
        stamp = iso(self.now() + timedelta(hours=self.reads))
        for position, item in enumerate(reply.body["messages"]):
            item["id"], item["timestamp"] = f"msg-{position}", stamp
        return reply


def _sync(run_on_commit, platform: str) -> Task:
    task, _ = task_schedule(type="sync", platform=platform)
    s.cycle(run_on_commit)
    task.refresh_from_db()
    assert task.status == "completed", task.error
    return task


def _replies() -> list[Event]:
    return list(Event.objects.filter(kind="dm.reply_received").order_by("id"))


@pytest.fixture
def tiktok(settings):
    s.open_all_day(settings, "tiktok")
    service = ReadTimeTikTok()
    with running(service) as server:
        settings.SERVICE_URLS = {**settings.SERVICE_URLS, "tiktok_dm": server.url}
        yield server


def test_two_syncs_of_a_tiktok_inbox_store_each_message_once_and_announce_a_reply_once(
    api, tiktok, run_on_commit
):
    configure(tiktok, reply_probability=1.0, reply_delay_seconds=0)
    s.send_via_api(api, "tiktok", "fan_one", "Hey! Loved the build log")
    s.cycle(run_on_commit)
    first = _sync(run_on_commit, "tiktok")
    assert first.result["messages_synced"] == 1  # the reply; our send was logged already
    second = _sync(run_on_commit, "tiktok")
    assert second.result["messages_synced"] == 0
    assert second.result["newReplies"] == 0
    assert Message.objects.count() == 2
    assert [e.data["username"] for e in _replies()] == ["fan_one"]

    with tiktok.service.lock:  # they write again: only that is new
        tiktok.service.inbox.add(
            "fan_one", "Also, are you on X?", outbound=False, now=s.timezone.now()
        )
    third = _sync(run_on_commit, "tiktok")
    assert third.result["messages_synced"] == 1
    assert [e.data["text"] for e in _replies()][-1] == "Also, are you on X?"
    assert len(_replies()) == 2
    _sync(run_on_commit, "tiktok")
    assert Message.objects.count() == 3
    assert len(_replies()) == 2
    assert Contact.objects.count() == 1
    assert list(PlatformAccount.objects.values_list("username", "display_name")) == [
        ("fan_one", "Fan One")
    ]
    listed = requests.get(f"{tiktok.url}/api/tiktok/conversations", timeout=5).json()
    assert [c["username"] for c in listed["conversations"]] == ["Fan One"]  # the shown name


@pytest.fixture
def instagram(settings):
    s.open_all_day(settings, "instagram")
    with running(InstagramDMSim(seed=True)) as server:
        settings.SERVICE_URLS = {**settings.SERVICE_URLS, "instagram_dm": server.url}
        yield server


def test_display_name_conversations_land_on_the_known_handles_contact(instagram, run_on_commit):
    crm = get_client()
    maya = crm.contact_upsert(platform="instagram", username="maya_builds")
    crm.contact_upsert(platform="instagram", username="sam_ships", display_name="Sam Ships")
    task = _sync(run_on_commit, "instagram")
    assert task.result["conversations"] == 3
    handles = dict(PlatformAccount.objects.values_list("username", "display_only"))
    assert handles == {"maya_builds": False, "sam_ships": False, "Leo.Creates": True}
    assert Contact.objects.count() == 3  # no second Maya, no second Sam
    state = crm.conversation_state(platform="instagram", username="maya_builds")
    assert state["contact_id"] == str(maya["id"])
    assert state["has_inbound"] is True
    _sync(run_on_commit, "instagram")
    assert Message.objects.count() == 3
    assert Contact.objects.count() == 3


def test_a_display_name_posted_to_the_crm_api_is_matched_to_the_handle(api):
    crm = get_client()
    crm.contact_upsert(platform="twitter", username="maya_builds")
    payload = {
        "platform": "twitter",
        "conversations": [
            {
                "username": "Maya Builds",
                "display_name": "Maya Builds",
                "messages": [
                    {"text": "hi there", "direction": "inbound", "sent_at": None},
                    {"text": "hello!", "direction": "outbound", "sent_at": None},
                ],
            }
        ],
    }
    first = api.post("/api/sync/dm", payload, format="json").json()
    assert (first["contacts_created"], first["messages_synced"]) == (0, 2)
    assert [r["username"] for r in first["new_replies"]] == ["maya_builds"]
    second = api.post("/api/sync/dm", payload, format="json").json()
    assert (second["messages_synced"], second["new_replies"]) == (0, [])
    assert Contact.objects.count() == 1
    assert not PlatformAccount.objects.filter(username="Maya Builds").exists()


def test_do_not_contact_holds_for_a_contact_first_seen_by_display_name(
    api, instagram, run_on_commit
):
    _sync(run_on_commit, "instagram")  # the CRM knows nobody: names stay names
    shown = PlatformAccount.objects.get(display_name="Maya Builds")
    assert shown.display_only
    assert not PlatformAccount.objects.filter(username="maya_builds").exists()
    marked = api.patch(f"/api/contacts/{shown.contact_id}", {"do_not_contact": True}, format="json")
    assert marked.status_code == 200, marked.content

    task = s.send_via_api(api, "instagram", "maya_builds", "Hi Maya, quick question")
    s.cycle(run_on_commit)
    task.refresh_from_db()
    assert task.status == "failed"
    assert "do-not-contact" in task.error
    assert s.deliveries(instagram) == []

    get_client().contact_upsert(platform="instagram", username="maya_builds")  # handle learnt
    maya = Contact.objects.get(handles__username="maya_builds")
    assert maya.do_not_contact is True  # the name-only record folded into it, mark and all
    assert Contact.objects.filter(handles__display_name="Maya Builds").count() == 1
    assert maya.conversations.get().messages.count() == 1
    _sync(run_on_commit, "instagram")
    assert Contact.objects.count() == 3
    assert Message.objects.filter(conversation__contact=maya).count() == 1


def test_a_name_only_contact_is_never_messaged_by_its_name(api, instagram, run_on_commit):
    _sync(run_on_commit, "instagram")
    task = s.send_via_api(api, "instagram", "Sam Ships", "hello")
    s.cycle(run_on_commit)
    task.refresh_from_db()
    assert task.status == "failed"
    assert "not a handle" in task.error
    assert s.deliveries(instagram) == []


def test_the_cold_dm_cooldown_counts_what_we_sent_a_contact_seen_only_by_name(
    api, instagram, run_on_commit
):
    payload = {
        "platform": "instagram",
        "conversations": [
            {
                "username": "Nina Makes",
                "messages": [
                    {
                        "text": "Love your work!",
                        "direction": "outbound",
                        "sent_at": s.timezone.now().isoformat(),
                    }
                ],
            }
        ],
    }
    assert api.post("/api/sync/dm", payload, format="json").json()["messages_synced"] == 1
    task = s.send_via_api(api, "instagram", "nina_makes", "Hi Nina, following up")
    s.cycle(run_on_commit)
    task.refresh_from_db()
    assert task.status == "failed"
    assert "cold DM refused" in task.error
    assert s.deliveries(instagram) == []


def test_a_handle_added_through_the_api_takes_over_the_name_only_contact(api):
    payload = {
        "platform": "tiktok",
        "conversations": [
            {
                "username": "Maya Builds",
                "messages": [{"text": "are you hiring?", "direction": "inbound", "sent_at": None}],
            }
        ],
    }
    api.post("/api/sync/dm", payload, format="json")
    created = api.post(
        "/api/contacts",
        {
            "display_name": "Maya",
            "platform_accounts": [{"platform": "tiktok", "username": "maya_builds"}],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    assert Contact.objects.count() == 1
    [handle] = PlatformAccount.objects.all()
    assert (handle.username, handle.display_name, handle.display_only) == (
        "maya_builds",
        "Maya Builds",
        False,
    )
    assert get_client().conversation_state(platform="tiktok", username="maya_builds")["has_inbound"]
    again = api.post("/api/sync/dm", payload, format="json").json()
    assert (again["messages_synced"], again["contacts_created"]) == (0, 0)
    assert Contact.objects.count() == 1


def test_identities_of_platforms_without_handle_spelling_rules_stay_identities(api):
    payload = {
        "platform": "email",
        "conversations": [
            {
                "username": "ana@example.com",
                "messages": [{"text": "hi", "direction": "inbound", "sent_at": None}],
            }
        ],
    }
    assert api.post("/api/sync/dm", payload, format="json").json()["contacts_created"] == 1
    assert list(PlatformAccount.objects.values_list("username", "display_only")) == [
        ("ana@example.com", False)
    ]


def test_campaigns_never_target_a_contact_known_only_by_name(api):
    from tests.crm_factories import CampaignFactory

    campaign = CampaignFactory(platforms=["instagram"])
    conversations = [
        {"username": name, "messages": [{"text": "hi", "direction": "inbound", "sent_at": None}]}
        for name in ("Maya Builds", "sam_ships")
    ]
    api.post(
        "/api/sync/dm", {"platform": "instagram", "conversations": conversations}, format="json"
    )
    targets = get_client().campaign_targets(
        campaign_id=str(campaign.pk), platform="instagram", limit=10
    )
    assert [t["username"] for t in targets] == ["sam_ships"]
