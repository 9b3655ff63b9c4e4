"""factory-boy factories for the CRM."""

from __future__ import annotations

import factory

from crm.models import Campaign, Contact, PlatformAccount


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    display_name = factory.Sequence(lambda n: f"Person {n}")


class PlatformAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlatformAccount

    contact = factory.SubFactory(ContactFactory)
    platform = "instagram"
    username = factory.Sequence(lambda n: f"user{n}")
    is_primary = True


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    status = Campaign.Status.ACTIVE
    platforms = factory.LazyFunction(lambda: ["instagram"])
    message_templates = factory.LazyFunction(lambda: ["Hi {first_name}!"])
