"""The CRM admin: pages render, search and filters work, actions call services."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from crm.models import ApiKey, Campaign, Contact, Conversation, PlatformAccount
from crm.services import (
    apikey_authenticate,
    campaign_record_sent,
    contact_create,
    interaction_create,
    platform_account_create,
)
from crm.sync import message_log
from tests.crm_factories import CampaignFactory, PlatformAccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("admin", "a@example.com", "pw-123456")
    client.force_login(user)
    return client


def contact(name, username, platform="instagram", **data):
    return contact_create(
        data={"display_name": name, **data},
        platform_accounts=[{"platform": platform, "username": username}],
    )


def test_contact_pages_show_handles_conversations_and_messages(admin_client):
    ana = contact("Ana Garcia", "ana")
    message_log(
        platform="instagram",
        username="ana",
        text="Hello from Ana",
        direction="inbound",
        sent_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    page = admin_client.get(reverse("admin:crm_contact_change", args=[ana.pk]))
    assert page.status_code == 200
    assert b"Hello from Ana" in page.content
    conversation = Conversation.objects.get()
    page = admin_client.get(reverse("admin:crm_conversation_change", args=[conversation.pk]))
    assert b"Hello from Ana" in page.content
    listing = admin_client.get(reverse("admin:crm_contact_changelist"))
    assert b"instagram:@ana" in listing.content


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "bens"}, ["Ben"]),
        ({"q": "vip"}, ["Ana"]),
        ({"q": "ana"}, ["Ana"]),
        ({"pipeline_stage": "fit_repeats"}, ["Ben"]),
        ({"platform": "tiktok"}, ["Ben"]),
        ({"do_not_contact__exact": "1"}, ["Cid"]),
        ({"score": "0-29"}, ["Ana", "Ben", "Cid"]),
        ({"score": "80-100"}, []),
    ],
)
def test_contact_search_and_filters(admin_client, params, expected):
    contact("Ana", "ana", tags=["vip"])
    contact("Ben", "bens", platform="tiktok", pipeline_stage="fit_repeats")
    contact("Cid", "cid", do_not_contact=True)
    page = admin_client.get(reverse("admin:crm_contact_changelist"), params)
    assert page.status_code == 200
    shown = sorted(c.display_name for c in page.context["cl"].result_list)
    assert shown == expected


def test_merge_action_folds_duplicates_into_the_oldest(admin_client):
    first = contact("Dana", "dana", email="dana@example.com")
    dup = contact(
        "Dana R", "dana_r", platform="tiktok", tags=["met-at-expo"], what_theyre_building="a kiln"
    )
    interaction_create(contact=dup, data={"type": "call", "value_delivered": True})
    message_log(
        platform="tiktok",
        username="dana_r",
        text="hey",
        direction="inbound",
        sent_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    campaign = CampaignFactory()
    campaign_record_sent(campaign=campaign, contact_id=dup.pk)
    answer = admin_client.post(
        reverse("admin:crm_contact_changelist"),
        {"action": "merge_contacts", "_selected_action": [first.pk, dup.pk]},
        follow=True,
    )
    assert answer.status_code == 200
    assert list(Contact.objects.values_list("pk", flat=True)) == [first.pk]
    first.refresh_from_db()
    assert sorted(first.handles.values_list("username", flat=True)) == ["dana", "dana_r"]
    assert first.what_theyre_building == "a kiln"
    assert first.total_interactions == 1
    assert first.total_messages_received == 1
    assert list(first.tags.values_list("name", flat=True)) == ["met-at-expo"]
    assert Conversation.objects.get().contact_id == first.pk
    assert Campaign.objects.get().sent_count == 1
    # merged handles stay searchable under the surviving contact
    from crm.selectors import contact_list

    assert [c.pk for c in contact_list(search="dana_r").items] == [first.pk]


def test_merging_one_contact_only_warns(admin_client):
    one = contact("Eve", "eve")
    answer = admin_client.post(
        reverse("admin:crm_contact_changelist"),
        {"action": "merge_contacts", "_selected_action": [one.pk]},
        follow=True,
    )
    assert b"at least two" in answer.content


def test_do_not_contact_and_rescore_actions(admin_client):
    fay = contact("Fay", "fay")
    url = reverse("admin:crm_contact_changelist")
    admin_client.post(url, {"action": "mark_do_not_contact", "_selected_action": [fay.pk]})
    fay.refresh_from_db()
    assert fay.do_not_contact is True
    admin_client.post(url, {"action": "clear_do_not_contact", "_selected_action": [fay.pk]})
    Contact.objects.filter(pk=fay.pk).update(relationship_score=99)
    admin_client.post(url, {"action": "rescore", "_selected_action": [fay.pk]})
    fay.refresh_from_db()
    assert fay.do_not_contact is False
    assert fay.relationship_score == 28


def test_campaign_templates_are_previewed_against_a_contact(admin_client):
    gus = contact("Gus Lee", "gus_makes")
    campaign = CampaignFactory(
        message_templates=["Hi {first_name} (@{username})", {"text": "Bye {nope}"}]
    )
    page = admin_client.get(reverse("admin:crm_campaign_change", args=[campaign.pk]))
    assert b"Hi Gus (@gus_makes)" in page.content  # the next target stands in
    assert b"Bye {nope}" in page.content
    campaign.preview_contact = gus
    campaign.platforms = []
    campaign.save()
    assert (
        b"Hi Gus"
        in admin_client.get(reverse("admin:crm_campaign_change", args=[campaign.pk])).content
    )
    empty = CampaignFactory(platforms=[])
    page = admin_client.get(reverse("admin:crm_campaign_change", args=[empty.pk]))
    assert b"Pick a preview contact" in page.content


def test_api_keys_are_created_in_the_admin_and_shown_once(admin_client):
    answer = admin_client.post(
        reverse("admin:crm_apikey_add"), {"name": "crm-client", "is_active": "on"}, follow=True
    )
    assert answer.status_code == 200
    key = ApiKey.objects.get()
    shown = [str(m) for m in answer.context["messages"]]
    raw = shown[0].split("<code>")[1].split("</code>")[0]
    assert apikey_authenticate(raw_key=raw) == key
    admin_client.post(
        reverse("admin:crm_apikey_changelist"), {"action": "revoke", "_selected_action": [key.pk]}
    )
    assert apikey_authenticate(raw_key=raw) is None


def test_other_admin_pages_render(admin_client):
    handle = PlatformAccountFactory()
    interaction_create(contact=handle.contact, data={"type": "dm"})
    for name in (
        "platformaccount",
        "interaction",
        "tag",
        "campaign",
        "syncrun",
        "apikey",
        "conversation",
    ):
        assert admin_client.get(reverse(f"admin:crm_{name}_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:crm_contact_add")).status_code == 200


def test_saving_a_contact_in_the_admin_rescores_and_reindexes(admin_client):
    hana = contact("Hana", "hana")
    platform_account_create(contact=hana, data={"platform": "tiktok", "username": "hana_tt"})
    assert PlatformAccount.objects.filter(contact=hana).count() == 2
    page = admin_client.get(reverse("admin:crm_contact_change", args=[hana.pk]))
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "tags"}
    data.update({"display_name": "Hana Kim", "what_theyre_building": "an app", "fit_signals": "[]"})
    for prefix, formset in [
        (fs.formset.prefix, fs) for fs in page.context["inline_admin_formsets"]
    ]:
        management = formset.formset.management_form
        for field in management:
            data[f"{prefix}-{field.name}"] = field.value()
        for i, f in enumerate(formset.formset.forms):
            for field in f:
                value = field.value()
                if value is not None:
                    data[f"{prefix}-{i}-{field.name}"] = value
    answer = admin_client.post(reverse("admin:crm_contact_change", args=[hana.pk]), data)
    assert answer.status_code == 302, (
        answer.context["adminform"].form.errors if answer.context else ""
    )
    hana.refresh_from_db()
    assert hana.relationship_score == 32
    from crm.selectors import contact_list

    assert [c.pk for c in contact_list(search="kim").items] == [hana.pk]
