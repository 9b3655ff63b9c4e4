"""`manage.py crm …`: contacts and campaigns from the command line, tables and --json."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from crm import services
from crm.models import Campaign, Conversation, Message
from tests.crm_factories import CampaignFactory, ContactFactory, PlatformAccountFactory

pytestmark = pytest.mark.django_db


def crm(*args):
    out = StringIO()
    call_command("crm", *args, stdout=out)
    return out.getvalue()


def scheduler(*args):
    out = StringIO()
    call_command("scheduler", *args, stdout=out)
    return out.getvalue()


def _maya():
    contact = ContactFactory(display_name="Maya Builds", notes="ships every week")
    handle = PlatformAccountFactory(contact=contact, platform="tiktok", username="maya_builds")
    services.contact_search_refresh(contact=contact)
    conversation = Conversation.objects.create(contact=contact, handle=handle, platform="tiktok")
    now = timezone.now()
    for direction, text in (("outbound", "hey Maya!"), ("inbound", "hi! working on my app")):
        Message.objects.create(
            conversation=conversation, direction=direction, text=text, text_key=text, sent_at=now
        )
    return contact


def test_contacts_lists_searches_and_prints_json():
    maya = _maya()
    ContactFactory(display_name="Other Person")
    table = crm("contacts")
    assert "Maya Builds" in table
    assert "tiktok:maya_builds" in table
    found = json.loads(crm("contacts", "--search", "maya", "--json"))
    assert [c["id"] for c in found["contacts"]] == [str(maya.pk)]
    assert "No contacts match." in crm("contacts", "--search", "nobody-like-this")
    with pytest.raises(CommandError, match="--limit"):
        crm("contacts", "--limit", "0")


def test_contact_shows_the_conversation_by_id_or_handle():
    maya = _maya()
    text = crm("contact", "tiktok:maya_builds")
    assert f"Contact {maya.pk}: Maya Builds" in text
    assert "hi! working on my app" in text
    assert "hey Maya!" in text
    document = json.loads(crm("contact", str(maya.pk), "--json"))
    messages = document["conversations"][0]["messages"]
    assert [m["text"] for m in messages] == ["hey Maya!", "hi! working on my app"]
    with pytest.raises(CommandError, match="No contact"):
        crm("contact", "tiktok:nobody")
    with pytest.raises(CommandError, match="platform"):
        crm("contact", "myspace:maya")


def test_a_campaign_is_made_from_a_template_started_and_stopped():
    out = crm(
        "campaign",
        "create",
        "--template",
        "warm-intro",
        "--name",
        "Hello TikTok",
        "--platform",
        "tiktok",
    )
    campaign = Campaign.objects.get()
    assert f"Campaign {campaign.pk} “Hello TikTok” is a draft." in out
    assert campaign.platforms == ["tiktok"]
    assert "{first_name}" in campaign.message_templates[0]
    assert "running" in crm("campaign", "start", str(campaign.pk))
    assert Campaign.objects.get().status == "active"
    listed = json.loads(crm("campaigns", "--status", "active", "--json"))["campaigns"]
    assert [c["name"] for c in listed] == ["Hello TikTok"]
    assert "Hello TikTok" in crm("campaigns")
    assert "paused" in crm("campaign", "stop", str(campaign.pk))
    assert Campaign.objects.get().status == "paused"
    assert "warm-intro" in crm("campaign", "templates")


def test_campaign_mistakes_are_clear_errors():
    with pytest.raises(CommandError, match="--name"):
        crm("campaign", "create", "--template", "warm-intro")
    with pytest.raises(CommandError, match="--template"):
        crm("campaign", "create", "--name", "x")
    with pytest.raises(CommandError, match="No campaign"):
        crm("campaign", "start", "4242")
    empty = CampaignFactory(status="draft", message_templates=[])
    with pytest.raises(CommandError, match="message"):
        crm("campaign", "start", str(empty.pk))
    assert "No campaigns yet" not in crm("campaigns")


def test_scheduler_dm_says_when_no_campaign_feeds_the_window_and_how_to_start_one():
    out = scheduler("dm", "--platform", "tiktok", "--start", "9:00", "--end", "17:00")
    assert "No active campaign on tiktok" in out
    assert "crm campaign create --template warm-intro" in out
    CampaignFactory(name="Spring hello", platforms=["tiktok"])
    out = scheduler("dm", "--platform", "tiktok", "--start", "9:00", "--end", "17:00")
    assert "Active campaigns on tiktok: Spring hello" in out
