"""Writes to the CRM. Keyword-only, typed, named `<entity>_<action>`.

The DM sync and message logging live in `crm.sync`; counters and scores in `crm.aggregates`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.aggregates import (
    campaign_stats_refresh,
    contact_score_apply,
    contacts_refresh,
    conversations_refresh,
)
from crm.identity import shown_adopt, shown_for
from crm.models import (
    ApiKey,
    Campaign,
    CampaignRecipient,
    Contact,
    Conversation,
    Interaction,
    Platform,
    PlatformAccount,
    SearchToken,
    Tag,
    handle_key,
)
from crm.sync_input import could_be_handle
from crm.text import search_tokens

CONTACT_FIELDS = (
    "display_name",
    "email",
    "phone",
    "avatar_url",
    "bio",
    "notes",
    "pipeline_stage",
    "preferred_cadence",
    "do_not_contact",
    "what_theyre_building",
    "current_friction",
    "definition_of_win",
    "fit_signals",
    "promises_made",
    "promises_kept",
    "asks_opinion",
    "shares_updates",
    "has_referred_others",
)
HANDLE_FIELDS = (
    "display_name",
    "platform_user_id",
    "profile_url",
    "follower_count",
    "is_verified",
    "is_primary",
)
API_KEY_TOUCH_EVERY = timedelta(minutes=1)


# --- API keys --------------------------------------------------------------------------------


def _hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def apikey_create(*, name: str) -> tuple[ApiKey, str]:
    """A new key; the raw key is returned once and never stored."""
    raw_key = "crm_" + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(name=name, prefix=raw_key[:12], key_hash=_hash_key(raw_key))
    return key, raw_key


def apikey_authenticate(*, raw_key: str, now: datetime | None = None) -> ApiKey | None:
    """The active key matching `raw_key`, its last use noted at most once a minute."""
    now = now or timezone.now()
    key = ApiKey.objects.filter(key_hash=_hash_key(raw_key), is_active=True).first()
    if key is not None and (
        key.last_used_at is None or now - key.last_used_at > API_KEY_TOUCH_EVERY
    ):
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def apikey_revoke(*, key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk).update(is_active=False)


# --- Contacts --------------------------------------------------------------------------------


def _platform(value: str, field: str = "platform") -> str:
    if value not in Platform.values:
        raise ValidationError(
            {field: f"{value!r} is not a platform ({', '.join(Platform.values)})"}
        )
    return value


def contact_search_refresh(*, contact: Contact) -> None:
    """Keep the words contact search matches in step with name, email, handles and tags."""
    parts = [contact.display_name, contact.email]
    for username, display_name in contact.handles.values_list("username", "display_name"):
        parts += [username, display_name]
    parts += list(contact.tags.values_list("name", flat=True))
    wanted = search_tokens(*parts)
    have = set(contact.search_tokens.values_list("token", flat=True))
    if wanted != have:
        contact.search_tokens.filter(token__in=have - wanted).delete()
        SearchToken.objects.bulk_create(
            [SearchToken(contact=contact, token=t) for t in sorted(wanted - have)]
        )


def _apply_fields(contact: Contact, data: dict[str, Any]) -> None:
    for name in CONTACT_FIELDS:
        if name in data:
            setattr(contact, name, data[name])


def _set_tags(contact: Contact, tags: Iterable[str]) -> None:
    names = sorted({t.strip().lower() for t in tags if t and t.strip()})
    objs = [Tag.objects.get_or_create(name=name)[0] for name in names]
    contact.tags.set(objs)


@transaction.atomic
def contact_create(
    *,
    data: dict[str, Any],
    platform_accounts: list[dict[str, Any]] | None = None,
    now: datetime | None = None,
) -> Contact:
    now = now or timezone.now()
    contact = Contact(created_at=now, updated_at=now)
    _apply_fields(contact, data)
    if not contact.display_name:
        first = (platform_accounts or [{}])[0].get("username", "")
        contact.display_name = first or "(unnamed)"
    contact_score_apply(contact, now=now)
    contact.full_clean()
    contact.save()
    for account in platform_accounts or []:
        platform_account_create(contact=contact, data=account, now=now)
    if "tags" in data:
        _set_tags(contact, data["tags"])
    contact_search_refresh(contact=contact)
    return contact


@transaction.atomic
def contact_update(
    *, contact: Contact, data: dict[str, Any], now: datetime | None = None
) -> Contact:
    now = now or timezone.now()
    _apply_fields(contact, data)
    contact.updated_at = now
    contact_score_apply(contact, now=now)
    contact.full_clean()
    contact.save()
    if "tags" in data:
        _set_tags(contact, data["tags"])
    contact_search_refresh(contact=contact)
    return contact


def contact_delete(*, contact: Contact) -> None:
    contact.delete()


@transaction.atomic
def contact_upsert(
    *,
    platform: str,
    username: str,
    display_name: str | None = None,
    fields: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> tuple[Contact, bool]:
    """The contact behind a handle, created when unknown; returns (contact, created)."""
    now = now or timezone.now()
    _platform(platform)
    key = handle_key(username)
    if not key:
        raise ValidationError({"username": "a username is required"})
    handle = (
        PlatformAccount.objects.select_related("contact")
        .filter(platform=platform, username_key=key)
        .first()
    )
    if handle is None:
        data = {
            **(fields or {}),
            "display_name": display_name or (fields or {}).get("display_name"),
        }
        data["display_name"] = data["display_name"] or username.strip().lstrip("@")
        account = {"platform": platform, "username": username, "display_name": display_name or ""}
        return contact_create(data=data, platform_accounts=[account], now=now), True
    contact = handle.contact
    if display_name and handle.display_name != display_name:
        handle.display_name = display_name
        handle.save(update_fields=["display_name", "username_key"])
        if contact.display_name == handle.username.lstrip("@"):
            fields = {"display_name": display_name, **(fields or {})}
    if fields:
        contact_update(contact=contact, data=fields, now=now)
    else:
        contact_search_refresh(contact=contact)
    return contact, False


def contact_tag_add(*, contact: Contact, tag: str) -> list[str]:
    name = tag.strip().lower()
    if not name:
        raise ValidationError({"tag": "a tag is required"})
    contact.tags.add(Tag.objects.get_or_create(name=name)[0])
    contact_search_refresh(contact=contact)
    return list(contact.tags.values_list("name", flat=True))


def contact_tag_remove(*, contact: Contact, tag: str) -> list[str]:
    contact.tags.remove(*Tag.objects.filter(name=tag.strip().lower()))
    contact_search_refresh(contact=contact)
    return list(contact.tags.values_list("name", flat=True))


def contact_set_do_not_contact(*, platform: str, username: str, value: bool = True) -> Contact:
    """Mark the contact behind a handle; an unknown handle is created so the mark holds. A name
    that cannot be a handle marks the name-only record an inbox showed (crm/identity.py)."""
    if not could_be_handle(platform, username):
        shown = shown_for(platform=platform, username=username)
        if shown is None:
            raise ValidationError({"username": f"{username!r} is not a handle"})
        contact = shown.contact
    else:
        contact, _ = contact_upsert(platform=platform, username=username)
    Contact.objects.filter(pk=contact.pk).update(do_not_contact=value, updated_at=timezone.now())
    contact.do_not_contact = value
    return contact


@transaction.atomic
def contact_merge(*, primary: Contact, duplicates: Iterable[Contact]) -> Contact:
    """Fold duplicates into `primary`: handles, conversations, interactions, tags, campaign
    sends and blank fields move over; the duplicates are deleted."""
    now = timezone.now()
    dups = [d for d in duplicates if d.pk != primary.pk]
    if not dups:
        return primary
    ids = [d.pk for d in dups]
    PlatformAccount.objects.filter(contact_id__in=ids).update(contact=primary, is_primary=False)
    Conversation.objects.filter(contact_id__in=ids).update(contact=primary)
    Interaction.objects.filter(contact_id__in=ids).update(contact=primary)
    already = set(primary.campaigns_sent.values_list("campaign_id", flat=True))
    for recipient in CampaignRecipient.objects.filter(contact_id__in=ids).order_by("sent_at"):
        if recipient.campaign_id in already:
            continue
        already.add(recipient.campaign_id)
        CampaignRecipient.objects.filter(pk=recipient.pk).update(contact=primary)
    for dup in dups:
        primary.tags.add(*dup.tags.all())
        for name in CONTACT_FIELDS:
            if not getattr(primary, name) and getattr(dup, name):
                setattr(primary, name, getattr(dup, name))
        primary.do_not_contact = primary.do_not_contact or dup.do_not_contact
        primary.total_interactions += dup.total_interactions
        primary.value_delivered_count += dup.value_delivered_count
        for moment in ("first_touch_at",):
            theirs = getattr(dup, moment)
            if theirs and (getattr(primary, moment) is None or theirs < getattr(primary, moment)):
                setattr(primary, moment, theirs)
    Contact.objects.filter(pk__in=ids).delete()
    primary.save()
    contacts_refresh(contact_ids=[primary.pk], now=now)
    primary.refresh_from_db()
    contact_search_refresh(contact=primary)
    campaign_stats_refresh(
        campaign_ids=primary.campaigns_sent.values_list("campaign_id", flat=True)
    )
    return primary


# --- Handles, interactions -------------------------------------------------------------------


def platform_account_create(
    *, contact: Contact, data: dict[str, Any], now: datetime | None = None
) -> PlatformAccount:
    platform = _platform(str(data.get("platform", "")))
    username = str(data.get("username") or "").strip().lstrip("@")
    if not username:
        raise ValidationError({"username": "a username is required"})
    clash = PlatformAccount.objects.filter(platform=platform, username_key=handle_key(username))
    if clash.exists():
        owner = clash[0].contact_id
        raise ValidationError({"username": f"@{username} on {platform} already belongs to {owner}"})
    account = PlatformAccount(contact=contact, platform=platform, username=username)
    for name in HANDLE_FIELDS:
        if data.get(name) is not None:
            setattr(account, name, data[name])
    account.created_at = now or timezone.now()
    try:
        with transaction.atomic():
            account.save()
    except IntegrityError:
        raise ValidationError({"username": f"@{username} on {platform} already exists"}) from None
    contact_search_refresh(contact=contact)
    with transaction.atomic():  # an inbox showed them by name before: one contact from now on
        shown_adopt(handle=account, now=account.created_at)
    return account


@transaction.atomic
def interaction_create(
    *, contact: Contact, data: dict[str, Any], now: datetime | None = None
) -> Interaction:
    now = now or timezone.now()
    interaction = Interaction(contact=contact, created_at=now, occurred_at=now)
    for name in (
        "type",
        "platform",
        "summary",
        "outcome",
        "sentiment",
        "value_delivered",
        "metadata",
    ):
        if data.get(name) is not None:
            setattr(interaction, name, data[name])
    if data.get("occurred_at"):
        interaction.occurred_at = data["occurred_at"]
    interaction.full_clean()
    interaction.save()
    contact.total_interactions += 1
    contact.value_delivered_count += int(interaction.value_delivered)
    if contact.last_interaction_at is None or interaction.occurred_at > contact.last_interaction_at:
        contact.last_interaction_at = interaction.occurred_at
    contact.updated_at = now
    contact_score_apply(contact, now=now)
    contact.save(
        update_fields=[
            "total_interactions",
            "value_delivered_count",
            "last_interaction_at",
            "relationship_score",
            "updated_at",
        ]
    )
    return interaction


# --- Campaigns -------------------------------------------------------------------------------


def campaign_create(*, data: dict[str, Any], now: datetime | None = None) -> Campaign:
    now = now or timezone.now()
    campaign = Campaign(created_at=now, updated_at=now)
    for name in (
        "name",
        "description",
        "type",
        "platforms",
        "message_templates",
        "target_criteria",
        "status",
    ):
        if data.get(name) is not None:
            setattr(campaign, name, data[name])
    for platform in campaign.platforms:
        _platform(platform, "platforms")
    campaign.full_clean()
    campaign.save()
    return campaign


def campaign_set_status(
    *, campaign: Campaign, status: str, now: datetime | None = None
) -> Campaign:
    """Start (active), pause or complete a campaign; outreach reads only active ones."""
    if status not in Campaign.Status.values:
        raise ValidationError({"status": f"unknown status {status!r}"})
    if status == Campaign.Status.ACTIVE and not campaign.message_templates:
        raise ValidationError({"message_templates": "a campaign needs a message to start"})
    campaign.status = status
    campaign.updated_at = now or timezone.now()
    campaign.save(update_fields=["status", "updated_at"])
    return campaign


def campaign_record_sent(
    *, campaign: Campaign, contact_id: int, now: datetime | None = None
) -> None:
    """Count one campaign message to a contact; a repeat for the same contact counts once."""
    if not Contact.objects.filter(pk=contact_id).exists():
        raise ValidationError({"contact_id": f"no contact {contact_id}"})
    CampaignRecipient.objects.get_or_create(
        campaign=campaign, contact_id=contact_id, defaults={"sent_at": now or timezone.now()}
    )
    campaign_stats_refresh(campaign_ids=[campaign.pk])


def contacts_rescore(*, contact_ids: Iterable[int], now: datetime | None = None) -> None:
    """Recompute message counters and scores (the admin's action; scores also age with time)."""
    now = now or timezone.now()
    ids = list(contact_ids)
    conversations_refresh(
        conversation_ids=Conversation.objects.filter(contact_id__in=ids).values_list(
            "id", flat=True
        ),
        now=now,
    )
    contacts_refresh(contact_ids=ids, now=now)
