"""Recompute counters, times and scores for many contacts and conversations at once.

Each function costs a fixed number of queries however many ids it is given, so the sync can
call it once per chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import (
    Avg,
    BooleanField,
    CharField,
    Count,
    DateTimeField,
    Max,
    Min,
    Model,
    Q,
    TextField,
)

from crm.models import Campaign, CampaignRecipient, Contact, Conversation, Direction, Message
from crm.scoring import ScoreInputs, relationship_score

_IN = Q(direction=Direction.INBOUND)
_OUT = Q(direction=Direction.OUTBOUND)


def score_inputs(contact: Contact, *, now: datetime) -> ScoreInputs:
    days = None
    if contact.last_message_at is not None:
        days = max((now - contact.last_message_at).total_seconds(), 0) / 86400
    return ScoreInputs(
        days_since_last_message=days,
        messages_total=contact.total_messages_sent + contact.total_messages_received,
        messages_inbound=contact.total_messages_received,
        resonance_average=contact.resonance_average,
        what_theyre_building=bool(contact.what_theyre_building.strip()),
        current_friction=bool(contact.current_friction.strip()),
        definition_of_win=bool(contact.definition_of_win.strip()),
        fit_signals=bool(contact.fit_signals),
        value_delivered_count=contact.value_delivered_count,
        promises_made=contact.promises_made,
        promises_kept=contact.promises_kept,
        asks_opinion=contact.asks_opinion,
        shares_updates=contact.shares_updates,
        has_referred_others=contact.has_referred_others,
    )


def contact_score_apply(contact: Contact, *, now: datetime) -> None:
    contact.relationship_score = relationship_score(score_inputs(contact, now=now))


def update_many(model: type[Model], objs: Sequence[Model], fields: Sequence[str]) -> None:
    """UPDATE each row's `fields` by primary key with one executemany: far cheaper than
    bulk_update's CASE expressions for thousands of rows, and portable across backends."""
    if not objs:
        return
    meta = model._meta
    quote = connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    sets = ", ".join(f"{quote(str(f.column))} = %s" for f in columns)  # type: ignore[union-attr]
    pk_column = quote(str(meta.pk.column) if meta.pk else "id")
    sql = f"UPDATE {quote(meta.db_table)} SET {sets} WHERE {pk_column} = %s"  # noqa: S608
    rows = [
        [f.get_db_prep_save(getattr(o, f.attname), connection) for f in columns] + [o.pk]  # type: ignore[union-attr]
        for o in objs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _preparer(field: Any) -> Callable[[Any], Any]:
    """How to turn a Python value into a DB parameter for this column, cheaply."""
    if field.is_relation or isinstance(field, CharField | TextField | BooleanField):
        return lambda value: value
    if isinstance(field, DateTimeField):
        return lambda value: connection.ops.adapt_datetimefield_value(value)
    return lambda value: field.get_db_prep_save(value, connection)


def insert_many(model: type[Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """INSERT plain value rows with one executemany, skipping model instances (used for the
    sync's messages, whose ids nobody needs back)."""
    if not rows:
        return
    meta = model._meta
    quote = connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    names = ", ".join(quote(str(f.column)) for f in columns)  # type: ignore[union-attr]
    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES ({marks})"  # noqa: S608
    preps = [_preparer(f) for f in columns]
    prepared = [[prep(v) for prep, v in zip(preps, row, strict=True)] for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, prepared)


def conversations_refresh(*, conversation_ids: Iterable[int], now: datetime) -> None:
    ids = list(set(conversation_ids))
    if not ids:
        return
    rows = (
        Message.objects.filter(conversation_id__in=ids)
        .values("conversation_id")
        .annotate(
            n=Count("id"),
            last=Max("sent_at"),
            last_in=Max("sent_at", filter=_IN),
            last_out=Max("sent_at", filter=_OUT),
        )
    )
    by_id: dict[int, dict[str, Any]] = {row["conversation_id"]: dict(row) for row in rows}
    conversations = list(Conversation.objects.filter(pk__in=ids).only("id"))
    for conversation in conversations:
        row: dict[str, Any] = by_id.get(conversation.pk, {})
        conversation.message_count = row.get("n", 0)
        conversation.last_message_at = row.get("last")
        conversation.last_inbound_at = row.get("last_in")
        conversation.last_outbound_at = row.get("last_out")
        conversation.updated_at = now
    update_many(
        Conversation,
        conversations,
        ["message_count", "last_message_at", "last_inbound_at", "last_outbound_at", "updated_at"],
    )


_CONTACT_MESSAGE_FIELDS = [
    "total_messages_sent",
    "total_messages_received",
    "resonance_average",
    "first_touch_at",
    "last_message_at",
    "last_inbound_at",
    "last_outbound_at",
    "relationship_score",
    "updated_at",
]


def contacts_refresh(*, contact_ids: Iterable[int], now: datetime) -> None:
    """Message counters, first/last touch, resonance and score of these contacts."""
    ids = list(set(contact_ids))
    if not ids:
        return
    rows = (
        Message.objects.filter(conversation__contact_id__in=ids)
        .values("conversation__contact_id")
        .annotate(
            sent=Count("id", filter=_OUT),
            received=Count("id", filter=_IN),
            first=Min("sent_at"),
            last=Max("sent_at"),
            last_in=Max("sent_at", filter=_IN),
            last_out=Max("sent_at", filter=_OUT),
            resonance=Avg("resonance", filter=_IN),
        )
    )
    by_id: dict[int, dict[str, Any]] = {r["conversation__contact_id"]: dict(r) for r in rows}
    contacts = list(Contact.objects.filter(pk__in=ids).defer("bio", "notes"))
    for contact in contacts:
        row: dict[str, Any] = by_id.get(contact.pk, {})
        contact.total_messages_sent = row.get("sent", 0)
        contact.total_messages_received = row.get("received", 0)
        contact.resonance_average = row.get("resonance")
        first = row.get("first")
        if first is not None and (contact.first_touch_at is None or first < contact.first_touch_at):
            contact.first_touch_at = first
        contact.last_message_at = row.get("last")
        contact.last_inbound_at = row.get("last_in")
        contact.last_outbound_at = row.get("last_out")
        contact_score_apply(contact, now=now)
        contact.updated_at = now
    update_many(Contact, contacts, _CONTACT_MESSAGE_FIELDS)


def campaign_replies_refresh(*, contact_ids: Iterable[int]) -> None:
    """Mark campaign recipients who wrote back after the campaign's message as replied."""
    ids = list(set(contact_ids))
    if not ids:
        return
    waiting = list(
        CampaignRecipient.objects.filter(
            contact_id__in=ids, replied_at__isnull=True
        ).select_related("contact")
    )
    replied = [
        r
        for r in waiting
        if r.contact.last_inbound_at is not None and r.contact.last_inbound_at > r.sent_at
    ]
    for recipient in replied:
        recipient.replied_at = recipient.contact.last_inbound_at
    CampaignRecipient.objects.bulk_update(replied, ["replied_at"])
    campaign_stats_refresh(campaign_ids={r.campaign_id for r in replied})


def campaign_stats_refresh(*, campaign_ids: Iterable[int]) -> None:
    for campaign_id in set(campaign_ids):
        counts = CampaignRecipient.objects.filter(campaign_id=campaign_id).aggregate(
            sent=Count("id"), replied=Count("id", filter=Q(replied_at__isnull=False))
        )
        Campaign.objects.filter(pk=campaign_id).update(
            sent_count=counts["sent"], replied_count=counts["replied"]
        )
