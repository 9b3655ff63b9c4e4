"""`manage.py demo seed`: the demo's data, only in demo mode, idempotent, labelled demo."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from crm.models import Campaign, Contact
from dm.models import PlatformAccount
from safari_auto.demo_seed import DEMO_TAG, PEOPLE
from scheduler.models import Task
from sora.models import Trilogy, TrilogyRun

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("demo", "seed", stdout=out)
    return out.getvalue()


def test_without_demo_mode_it_refuses_and_seeds_nothing(settings):
    settings.DEMO = False
    with pytest.raises(CommandError, match="DEMO=1"):
        seed()
    assert not Contact.objects.exists()
    assert not Campaign.objects.exists()
    assert not Task.objects.exists()
    assert not PlatformAccount.objects.filter(automation_enabled=True).exists()


def test_it_seeds_labelled_demo_data_for_the_whole_day_once(settings):
    settings.DEMO = True
    printed = seed()
    assert "[demo] Warm intro" in printed

    contacts = Contact.objects.all()
    assert contacts.count() == len(PEOPLE)
    assert all(DEMO_TAG in c.tags.values_list("name", flat=True) for c in contacts)
    for contact in contacts:
        assert sorted(contact.handles.values_list("platform", flat=True)) == [
            "instagram",
            "tiktok",
            "twitter",
        ]
    campaign = Campaign.objects.get()
    assert campaign.name.startswith("[demo]")
    assert campaign.status == "active"
    assert sorted(campaign.platforms) == ["instagram", "tiktok", "twitter"]
    assert campaign.target_criteria["tags"] == [DEMO_TAG]
    accounts = PlatformAccount.objects.filter(automation_enabled=True)
    assert sorted(a.platform for a in accounts) == ["instagram", "tiktok", "twitter"]
    assert all(a.active_start == a.active_end for a in accounts)  # open all day
    # The campaign's first DMs, an inbox sync and a probe per platform, a credit check: queued.
    for platform in ("instagram", "tiktok", "twitter"):
        assert Task.objects.filter(type="dm", platform=platform, status="pending").exists()
        assert Task.objects.filter(type="sync", platform=platform).count() == 1
        assert Task.objects.filter(type="probe", payload__platform=platform).count() == 1
    assert Task.objects.filter(type="sora_check", status="pending").exists()
    assert Trilogy.objects.count() == 3  # imported when missing
    run = TrilogyRun.objects.get()
    assert run.label.startswith("[demo]")
    assert run.admitted_at is None
    assert Task.objects.filter(type="sora", name__startswith="[demo]").count() == 3

    counts = {model: model.objects.count() for model in (Contact, Campaign, Task, TrilogyRun)}
    again = seed()
    assert "0 new" in again
    assert {model: model.objects.count() for model in counts} == counts


def test_a_new_demo_trilogy_waits_once_the_last_one_was_admitted(settings):
    settings.DEMO = True
    seed()
    first = TrilogyRun.objects.get()
    TrilogyRun.objects.filter(pk=first.pk).update(admitted_at=first.created_at)
    seed()
    runs = list(TrilogyRun.objects.order_by("id"))
    assert len(runs) == 2
    assert runs[1].admitted_at is None
    assert runs[1].trilogy_id != runs[0].trilogy_id
    assert runs[1].label.startswith("[demo]")
