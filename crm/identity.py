"""Who a name in an inbox is: handles stay the identity (CONTRACTS.md "Identity").

The services' conversation lists carry the *shown* name in `username` ("Maya Builds"), not the
handle we send to (`maya_builds`). A shown name is matched to a known handle of the platform,
first match wins, and a tier with two different handles matches nothing (never a guess):

1. a handle with that username (case-insensitive);
2. a handle whose display name is that name;
3. the one handle on the platform of a contact whose display name is that name;
4. a handle spelled from the name's words ("Maya Builds" -> mayabuilds, maya_builds,
   maya.builds, maya-builds).

A name nothing matches is kept as a *name-only* handle (`display_only`, key `~` + the name's
letters): its conversation and messages are stored, but it is never messaged and never a
campaign target, and the outreach guards read its do-not-contact, replies and sends for any
handle spelled like it. When a handle that matches it becomes known, the name-only record is
folded into that handle's contact (`shown_adopt`): one contact per person.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db.models.functions import Lower

from crm.aggregates import contacts_refresh, conversations_refresh
from crm.models import Contact, Conversation, Message, PlatformAccount, handle_key, shown_key
from crm.sync_input import InConversation
from crm.text import handle_candidates


def _unique(found: Iterable[PlatformAccount]) -> PlatformAccount | None:
    handles = {h.pk: h for h in found}
    return next(iter(handles.values())) if len(handles) == 1 else None


def handles_resolve(*, platform: str, names: Iterable[str]) -> dict[str, PlatformAccount]:
    """The known handle each shown name stands for (names that match none are left out)."""
    names = {n for n in names if n.strip()}
    real = PlatformAccount.objects.filter(platform=platform, display_only=False)
    by_key = {
        h.username_key: h for h in real.filter(username_key__in=[handle_key(n) for n in names])
    }
    folded = {n.strip().casefold() for n in names}
    by_display: dict[str, list[PlatformAccount]] = defaultdict(list)
    for named in real.annotate(shown=Lower("display_name")).filter(shown__in=folded):
        by_display[named.display_name.strip().casefold()].append(named)
    by_contact: dict[str, list[PlatformAccount]] = defaultdict(list)
    contacts = Contact.objects.annotate(shown=Lower("display_name")).filter(shown__in=folded)
    for owned in real.filter(contact__in=contacts).select_related("contact"):
        by_contact[owned.contact.display_name.strip().casefold()].append(owned)
    spelled = {n: handle_candidates(n) for n in names}
    by_spelling = {
        h.username_key: h
        for h in real.filter(username_key__in={c for cs in spelled.values() for c in cs})
    }
    out: dict[str, PlatformAccount] = {}
    for name in names:
        fold = name.strip().casefold()
        match = by_key.get(handle_key(name))
        if match is None and fold in by_display:
            match = _unique(by_display[fold])
            if match is None:
                continue  # two handles share that display name: no guess
        if match is None and fold in by_contact:
            match = _unique(by_contact[fold])
            if match is None:
                continue
        if match is None:
            match = _unique(by_spelling[c] for c in spelled[name] if c in by_spelling)
        if match is not None:
            out[name] = match
    return out


def shown_for(*, platform: str, username: str) -> PlatformAccount | None:
    """The name-only record spelled like `username`, if any."""
    return (
        PlatformAccount.objects.select_related("contact")
        .filter(platform=platform, display_only=True, username_key=shown_key(username))
        .first()
    )


def shown_adopt(*, handle: PlatformAccount, now: datetime) -> bool:
    """Fold the name-only record spelled like `handle` into it: its messages move into the
    handle's conversation (those already there are dropped), its contact merges into the
    handle's (do-not-contact carries over), and the record goes. Call inside a transaction."""
    from crm.services import contact_merge  # services create handles and call this

    if handle.display_only:
        return False
    shown = shown_for(platform=handle.platform, username=handle.username)
    if shown is None:
        return False
    target, _ = Conversation.objects.get_or_create(
        handle=handle,
        defaults={
            "contact_id": handle.contact_id,
            "platform": handle.platform,
            "created_at": now,
            "updated_at": now,
        },
    )
    source = Conversation.objects.filter(handle=shown).first()
    if source is not None:
        have = set(target.messages.values_list("direction", "text_key"))
        moving = source.messages.exclude(
            service_id__in=target.messages.exclude(service_id=None).values("service_id")
        )
        keep = [m.pk for m in moving if (m.direction, m.text_key) not in have]
        Message.objects.filter(pk__in=keep).update(conversation=target)
    if shown.contact_id != handle.contact_id:
        contact_merge(primary=handle.contact, duplicates=[shown.contact])
    shown.delete()
    if not handle.display_name:  # the name the inbox showed is their display name
        handle.display_name = shown.display_name or shown.username
        PlatformAccount.objects.filter(pk=handle.pk).update(display_name=handle.display_name)
    conversations_refresh(conversation_ids=[target.pk], now=now)
    contacts_refresh(contact_ids=[handle.contact_id], now=now)
    return True


@dataclass(frozen=True)
class Target:
    key: str  # the username_key of the handle the conversation goes to
    display_only: bool


def sync_targets(*, platform: str, batch: Iterable[InConversation]) -> dict[str, Target]:
    """Where each conversation of a sync goes, by its key: a handle given as such; the known
    handle a shown name stands for; else the shown name's name-only record."""
    batch = list(batch)
    resolved = handles_resolve(platform=platform, names=[c.username for c in batch if c.shown])
    out: dict[str, Target] = {}
    for c in batch:
        if not c.shown:
            out[c.key] = Target(c.key, False)
        elif c.username in resolved:
            out[c.key] = Target(resolved[c.username].username_key, False)
        else:
            out[c.key] = Target(shown_key(c.username), True)
    return out
