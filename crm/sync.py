"""DM sync and message logging: idempotent, de-duplicated, in bulk, committed in chunks.

The de-duplication rule (CONTRACTS.md): a message is the same message when
- it carries the same service id in the same conversation; or
- (it lacks one, or the stored one does) conversation, direction, normalised text and the
  minute of sending match; or
- it is outbound, its text equals an outbound message recorded the other way (logged vs synced)
  and the times are within a day. A synced copy then lends the logged one its platform time,
  so the next sync matches it by the minute.

A message synced without a usable time (`sent_at: null`: what the DM services read back) is
matched by content and order within the conversation (crm/sequence.py), never by the time of
the read, so reading the same inbox again stores nothing. A new one is dated just before the
stored message that follows it in the window, else at the sync's time, so the stored order
stays the service's order.

Conversations are keyed by handle; a name the service's list showed is matched to a known
handle first (crm/identity.py). The answer lists the inbound messages the sync stored for the
first time (`new_replies`, the newest 200): a reply is new exactly once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.aggregates import (
    campaign_replies_refresh,
    contacts_refresh,
    conversations_refresh,
    insert_many,
    update_many,
)
from crm.identity import shown_adopt, sync_targets
from crm.models import (
    Contact,
    Conversation,
    Direction,
    Message,
    PlatformAccount,
    SearchToken,
    SyncRun,
    handle_key,
    shown_key,
)
from crm.scoring import message_resonance
from crm.sequence import align
from crm.services import contact_search_refresh, contact_upsert
from crm.sync_input import InConversation, InMessage
from crm.text import minute_of, search_tokens, text_key

SYNC_CHUNK_CONVERSATIONS = 100
SAME_SEND_WINDOW = timedelta(days=1)
NEW_REPLIES_LISTED = 200
STEP = timedelta(milliseconds=1)


@dataclass
class _Row:
    id: int | None
    direction: str
    key: str
    sent_at: datetime
    service_id: str | None
    origin: str
    changed: bool = False


class ConversationMessages:
    """The messages already stored for one conversation, indexed for the de-duplication rule."""

    def __init__(self, rows: Iterable[_Row]) -> None:
        self.rows: list[_Row] = []
        self.by_service: dict[str, _Row] = {}
        self.by_minute: dict[tuple[str, str, datetime], _Row] = {}
        self.outbound_by_text: dict[str, list[_Row]] = defaultdict(list)
        for row in rows:
            self.add(row)

    def ordered(self) -> list[_Row]:
        """Oldest first, as the conversation reads (rows added this sync last among equals)."""
        return sorted(self.rows, key=lambda r: (r.sent_at, r.id is None, r.id or 0))

    def add(self, row: _Row) -> None:
        self.rows.append(row)
        if row.service_id:
            self.by_service[row.service_id] = row
        self.by_minute.setdefault((row.direction, row.key, minute_of(row.sent_at)), row)
        if row.direction == Direction.OUTBOUND:
            self.outbound_by_text[row.key].append(row)

    def find(self, message: InMessage, *, origin: str) -> _Row | None:
        sid = message.service_id
        if sid and sid in self.by_service:
            return self.by_service[sid]
        at = message.sent_at
        if at is None:
            return None
        row = self.by_minute.get((message.direction, message.key, minute_of(at)))
        if row is not None and not (sid and row.service_id and row.service_id != sid):
            return row
        if message.direction != Direction.OUTBOUND:
            return None
        candidates = [
            r
            for r in self.outbound_by_text.get(message.key, [])
            if r.origin != origin
            and abs(r.sent_at - at) <= SAME_SEND_WINDOW
            and not (sid and r.service_id)
        ]
        return min(candidates, key=lambda r: abs(r.sent_at - at), default=None)

    def absorb(self, row: _Row, message: InMessage, *, origin: str) -> None:
        """A matched message may complete the stored one: its service id, its platform time."""
        if message.service_id and not row.service_id:
            row.service_id = message.service_id
            self.by_service[row.service_id] = row
            row.changed = True
        from_log = origin == Message.Origin.SYNC and row.origin == Message.Origin.LOG
        if message.sent_at is None:
            return
        if from_log and minute_of(row.sent_at) != minute_of(message.sent_at):
            row.sent_at = message.sent_at
            self.by_minute.setdefault((row.direction, row.key, minute_of(row.sent_at)), row)
            row.changed = True


@dataclass
class SyncCounts:
    contacts_created: int = 0
    contacts_updated: int = 0
    conversations_synced: int = 0
    messages_synced: int = 0
    new_replies: list[dict[str, Any]] = field(default_factory=list)

    def add(self, other: SyncCounts) -> None:
        self.contacts_created += other.contacts_created
        self.contacts_updated += other.contacts_updated
        self.conversations_synced += other.conversations_synced
        self.messages_synced += other.messages_synced
        self.new_replies += other.new_replies


def _rows_of(conversation_ids: list[int]) -> dict[int, ConversationMessages]:
    rows: dict[int, list[_Row]] = defaultdict(list)
    fields = ("id", "conversation_id", "direction", "text_key", "sent_at", "service_id", "origin")
    for pk, cid, direction, key, sent_at, sid, origin in Message.objects.filter(
        conversation_id__in=conversation_ids
    ).values_list(*fields):
        rows[cid].append(_Row(pk, direction, key, sent_at, sid, origin))
    return {cid: ConversationMessages(rows.get(cid, [])) for cid in conversation_ids}


def _handles(
    platform: str, batch: list[InConversation], now: datetime
) -> tuple[dict[str, PlatformAccount], set[int], set[int]]:
    """The handle of each conversation of the batch (by its key), creating contacts and
    handles that are new: a shown name nothing matches gets a name-only handle.
    Returns (handles, created contact ids, updated contact ids)."""
    targets = sync_targets(platform=platform, batch=batch)
    handles = {
        h.username_key: h
        for h in PlatformAccount.objects.filter(
            platform=platform, username_key__in={t.key for t in targets.values()}
        ).only("id", "contact_id", "username", "username_key", "display_name", "display_only")
    }
    new: dict[str, InConversation] = {}
    for c in batch:
        if targets[c.key].key not in handles:
            new.setdefault(targets[c.key].key, c)
    contacts = [
        Contact(display_name=c.display_name or c.username, created_at=now, updated_at=now)
        for c in new.values()
    ]
    Contact.objects.bulk_create(contacts, batch_size=500)
    accounts = [
        PlatformAccount(
            contact=contact,
            platform=platform,
            username=c.username,
            username_key=key,
            display_name=c.display_name or "",
            display_only=targets[c.key].display_only,
            is_primary=True,
            created_at=now,
        )
        for (key, c), contact in zip(new.items(), contacts, strict=True)
    ]
    PlatformAccount.objects.bulk_create(accounts, batch_size=500)
    insert_many(
        SearchToken,
        ("contact", "token"),
        [
            (contact.pk, token)
            for c, contact in zip(new.values(), contacts, strict=True)
            for token in search_tokens(c.username, c.display_name or "")
        ],
    )
    handles.update({a.username_key: a for a in accounts})
    spelled = {shown_key(h.username): h for h in handles.values() if not h.display_only}
    for shown in PlatformAccount.objects.filter(
        platform=platform, display_only=True, username_key__in=list(spelled)
    ).only("username_key"):
        real = spelled[shown.username_key]  # a name-only record spelled like it folds in
        shown_adopt(handle=real, now=now)
        for key, h in list(handles.items()):
            if h.display_only and h.username_key == shown.username_key:
                handles[key] = real
    by_conversation = {c.key: handles[targets[c.key].key] for c in batch}
    updated: set[int] = set()
    renamed = []
    for c in batch:
        handle = by_conversation[c.key]
        if c.display_name and handle.pk and handle.display_name != c.display_name:
            handle.display_name = c.display_name
            renamed.append(handle)
            updated.add(handle.contact_id)
    update_many(PlatformAccount, renamed, ["display_name"])
    for contact in Contact.objects.filter(pk__in={h.contact_id for h in renamed}):
        contact_search_refresh(contact=contact)
    created = {contact.pk for contact in contacts}
    return by_conversation, created, updated - created


def _undated(
    index: ConversationMessages, messages: list[InMessage], now: datetime
) -> list[tuple[InMessage, _Row]]:
    """Messages without a usable time that the conversation does not hold yet, matched by
    content and order (crm/sequence.py), each dated to keep the service's order."""
    stored = index.ordered()
    window = [m for m in messages if not (m.service_id and m.service_id in index.by_service)]
    matches = align([(r.direction, r.key) for r in stored], [(m.direction, m.key) for m in window])
    fresh: list[tuple[InMessage, _Row]] = []
    previous: datetime | None = None
    for position, (message, match) in enumerate(zip(window, matches, strict=True)):
        if match is not None:
            previous = stored[match].sent_at
            continue
        following = next(
            (
                (stored[m].sent_at, later - position)
                for later, m in enumerate(matches[position + 1 :], start=position + 1)
                if m is not None
            ),
            None,
        )
        if following is not None:
            moment = following[0] - following[1] * STEP
        else:
            moment = max(now, previous + STEP) if previous else now
        previous = moment
        row = _Row(None, message.direction, message.key, moment, message.service_id, "sync")
        index.add(row)
        fresh.append((message, row))
    return fresh


def _sync_chunk(platform: str, batch: list[InConversation], now: datetime) -> SyncCounts:
    handles, created, updated = _handles(platform, batch, now)
    conversations = {
        c.handle_id: c
        for c in Conversation.objects.filter(handle_id__in=[h.pk for h in handles.values()]).only(
            "id", "handle_id", "contact_id"
        )
    }
    missing = [
        Conversation(
            contact_id=h.contact_id, handle=h, platform=platform, created_at=now, updated_at=now
        )
        for h in {h.pk: h for h in handles.values()}.values()
        if h.pk not in conversations
    ]
    Conversation.objects.bulk_create(missing, batch_size=500)
    conversations.update({c.handle_id: c for c in missing})
    stored = _rows_of([c.pk for c in conversations.values()])

    new_messages: list[tuple[Any, ...]] = []
    changed_rows: list[_Row] = []
    replies: list[dict[str, Any]] = []
    touched: set[int] = {c.pk for c in missing}
    for incoming in batch:
        handle = handles[incoming.key]
        conversation = conversations[handle.pk]
        index = stored[conversation.pk]
        fresh: list[tuple[InMessage, _Row]] = []
        for message in incoming.messages:
            if message.sent_at is None:
                continue
            row = index.find(message, origin=Message.Origin.SYNC)
            if row is not None:
                was = row.changed
                index.absorb(row, message, origin=Message.Origin.SYNC)
                if row.changed and not was and row.id is not None:
                    changed_rows.append(row)
                    touched.add(conversation.pk)
                continue
            row = _Row(
                None, message.direction, message.key, message.sent_at, message.service_id, "sync"
            )
            index.add(row)
            fresh.append((message, row))
        undated = [m for m in incoming.messages if m.sent_at is None]
        if undated:
            fresh += _undated(index, undated, now)
        for message, row in fresh:
            new_messages.append(_message_row(conversation.pk, message, row.sent_at, now))
            touched.add(conversation.pk)
            if message.direction == Direction.INBOUND:
                replies.append(_reply(handle, conversation, message, row.sent_at))
    insert_many(Message, MESSAGE_ROW_FIELDS, new_messages)
    if changed_rows:
        objs = [Message(pk=r.id, sent_at=r.sent_at, service_id=r.service_id) for r in changed_rows]
        update_many(Message, objs, ["sent_at", "service_id"])
    contact_ids = {c.contact_id for c in conversations.values() if c.pk in touched}
    conversations_refresh(conversation_ids=touched, now=now)
    contacts_refresh(contact_ids=contact_ids, now=now)
    campaign_replies_refresh(contact_ids=contact_ids)
    return SyncCounts(
        contacts_created=len(created),
        contacts_updated=len((contact_ids | updated) - created),
        conversations_synced=len(touched),
        messages_synced=len(new_messages) + len(changed_rows),
        new_replies=replies,
    )


MESSAGE_ROW_FIELDS = (
    "conversation",
    "direction",
    "text",
    "text_key",
    "sent_at",
    "by_automation",
    "service_id",
    "origin",
    "resonance",
    "created_at",
)


def _message_row(cid: int, m: InMessage, sent_at: datetime, now: datetime) -> tuple[Any, ...]:
    resonance = message_resonance(m.text) if m.direction == Direction.INBOUND else None
    return (cid, m.direction, m.text, m.key, sent_at, False, m.service_id, "sync", resonance, now)


def _reply(
    handle: PlatformAccount, conversation: Conversation, m: InMessage, sent_at: datetime
) -> dict[str, Any]:
    return {
        "username": handle.username,
        "display_only": handle.display_only,
        "contact_id": str(conversation.contact_id),
        "text": m.text,
        "sent_at": sent_at.isoformat(),
    }


def _message(cid: int, m: InMessage, origin: str, by_automation: bool, now: datetime) -> Message:
    return Message(
        conversation_id=cid,
        direction=m.direction,
        text=m.text,
        text_key=m.key,
        sent_at=m.sent_at or now,
        service_id=m.service_id,
        origin=origin,
        by_automation=by_automation,
        resonance=message_resonance(m.text) if m.direction == Direction.INBOUND else None,
        created_at=now,
    )


def dm_sync(
    *,
    platform: str,
    conversations: list[InConversation],
    now: datetime | None = None,
    chunk_size: int = SYNC_CHUNK_CONVERSATIONS,
) -> tuple[SyncCounts, SyncRun]:
    """Upsert conversations and their messages; each chunk commits on its own, so the writer
    lock is held briefly. The same payload twice changes nothing the second time."""
    now = now or timezone.now()
    run = SyncRun.objects.create(
        platform=platform,
        started_at=now,
        conversations_received=len(conversations),
        messages_received=sum(len(c.messages) for c in conversations),
    )
    total = SyncCounts()
    for start in range(0, len(conversations), chunk_size):
        batch = conversations[start : start + chunk_size]
        for attempt in (1, 2):
            try:
                with transaction.atomic():
                    total.add(_sync_chunk(platform, batch, now))
                break
            except IntegrityError:  # a concurrent writer created the same handle; redo once
                if attempt == 2:
                    raise
    total.new_replies = sorted(total.new_replies, key=lambda r: r["sent_at"])[-NEW_REPLIES_LISTED:]
    for name, value in vars(total).items():
        if name != "new_replies":
            setattr(run, name, value)
    run.finished_at = timezone.now()
    run.save()
    return total, run


@transaction.atomic
def message_log(
    *,
    platform: str,
    username: str,
    text: str,
    direction: str,
    sent_at: datetime,
    by_automation: bool = True,
    service_id: str | None = None,
    now: datetime | None = None,
) -> tuple[Message, bool]:
    """Record one message we sent or saw, creating contact and conversation as needed.
    Returns (message, created); a message already known is returned unchanged."""
    now = now or timezone.now()
    if direction not in Direction.values:
        raise ValidationError({"direction": "must be 'inbound' or 'outbound'"})
    if sent_at.tzinfo is None:
        raise ValidationError({"sent_at": "must be an aware time"})
    contact, _ = contact_upsert(platform=platform, username=username, now=now)
    handle = PlatformAccount.objects.get(platform=platform, username_key=handle_key(username))
    conversation, _ = Conversation.objects.get_or_create(
        handle=handle,
        defaults={"contact": contact, "platform": platform, "created_at": now, "updated_at": now},
    )
    incoming = InMessage(
        text=text, direction=direction, sent_at=sent_at, service_id=service_id, key=text_key(text)
    )
    index = _rows_of([conversation.pk])[conversation.pk]
    row = index.find(incoming, origin=Message.Origin.LOG)
    if row is not None:
        index.absorb(row, incoming, origin=Message.Origin.LOG)
        if row.changed and row.id is not None:
            Message.objects.filter(pk=row.id).update(service_id=row.service_id)
        return Message.objects.get(pk=row.id or 0), False
    message = _message(conversation.pk, incoming, Message.Origin.LOG, by_automation, now)
    message.save()
    conversations_refresh(conversation_ids=[conversation.pk], now=now)
    contacts_refresh(contact_ids=[contact.pk], now=now)
    if direction == Direction.INBOUND:
        campaign_replies_refresh(contact_ids=[contact.pk])
    return message, True
