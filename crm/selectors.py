"""Reads from the CRM. Keyword-only, typed, named `<entity>_<action>`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet
from django.utils import timezone

from crm.identity import shown_for
from crm.models import (
    Campaign,
    CampaignRecipient,
    Contact,
    Conversation,
    Interaction,
    Message,
    PlatformAccount,
    SearchToken,
    SyncRun,
    handle_key,
)
from crm.sync_input import could_be_handle
from crm.text import search_tokens

ACTIVE_WITHIN = timedelta(days=30)
CONTACT_SORTS = {
    "relationship_score",
    "last_message_at",
    "created_at",
    "updated_at",
    "display_name",
    "pipeline_stage",
    "total_messages_sent",
    "total_messages_received",
    "last_interaction_at",
}


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int


def contact_get(*, contact_id: int) -> Contact | None:
    return _with_handles(Contact.objects.filter(pk=contact_id)).first()


def contact_by_handle(*, platform: str, username: str) -> Contact | None:
    handles = PlatformAccount.objects.filter(
        contact=OuterRef("pk"), platform=platform, username_key=handle_key(username)
    )
    return _with_handles(Contact.objects.filter(Exists(handles))).first()


def contact_list(
    *,
    platform: str | None = None,
    stage: str | None = None,
    tag: str | None = None,
    search: str | None = None,
    do_not_contact: bool | None = None,
    min_score: int | None = None,
    max_score: int | None = None,
    sort: str = "updated_at",
    order: str = "desc",
    limit: int = 50,
    offset: int = 0,
) -> Page:
    """Filtered, searched and paginated contacts. Search scans one lower-case column holding
    name, handles, email and tags, so it costs one table pass (and a count when needed)."""
    qs = Contact.objects.all()
    if platform:
        qs = qs.filter(
            Exists(PlatformAccount.objects.filter(contact=OuterRef("pk"), platform=platform))
        )
    if stage:
        qs = qs.filter(pipeline_stage=stage)
    if tag:
        through = Contact.tags.through.objects.filter(
            contact_id=OuterRef("pk"), tag__name=tag.strip().lower()
        )
        qs = qs.filter(Exists(through))
    if do_not_contact is not None:
        qs = qs.filter(do_not_contact=do_not_contact)
    if min_score is not None:
        qs = qs.filter(relationship_score__gte=min_score)
    if max_score is not None:
        qs = qs.filter(relationship_score__lte=max_score)
    terms = search_tokens(search or "")
    if terms:
        filtered = any(
            v is not None and v != ""
            for v in (platform, stage, tag, do_not_contact, min_score, max_score)
        )
        return _searched_page(
            qs, terms, filtered=filtered, sort=sort, order=order, limit=limit, offset=offset
        )
    prefix = "-" if order == "desc" else ""
    items = _attach(list(qs.order_by(f"{prefix}{sort}", f"{prefix}id")[offset : offset + limit]))
    total = offset + len(items) if len(items) < limit and (items or offset == 0) else qs.count()
    return Page(items=items, total=total)


SPARSE_MATCHES = 5000


def _with_handles(qs: QuerySet[Contact]) -> QuerySet[Contact]:
    handles = PlatformAccount.objects.order_by("-is_primary", "id")
    return qs.prefetch_related(Prefetch("handles", queryset=handles), "tags")


def _attach(contacts: list[Contact]) -> list[Contact]:
    """Handles and tags for a page of contacts in two queries, kept on each contact as
    `page_handles` / `page_tags`. (prefetch_related clones a queryset per contact, which
    cost ~1 ms each on a page of 50.)"""
    ids = [c.pk for c in contacts]
    handles: dict[int, list[PlatformAccount]] = {pk: [] for pk in ids}
    for handle in PlatformAccount.objects.filter(contact_id__in=ids).order_by("-is_primary", "id"):
        handles[handle.contact_id].append(handle)
    tags: dict[int, list[str]] = {pk: [] for pk in ids}
    through = Contact.tags.through
    for contact_id, name in (
        through.objects.filter(contact_id__in=ids)
        .order_by("tag__name")
        .values_list("contact_id", "tag__name")
    ):
        tags[contact_id].append(name)
    for contact in contacts:
        contact.page_handles = handles[contact.pk]  # type: ignore[attr-defined]
        contact.page_tags = tags[contact.pk]  # type: ignore[attr-defined]
    return contacts


def _token_range(term: str) -> QuerySet[SearchToken]:
    return SearchToken.objects.filter(token__gte=term, token__lt=term + "\uffff")


def _term_ids(term: str, cap: int | None = None) -> list[int]:
    rows = _token_range(term).values_list("contact_id", flat=True)
    return list(rows[:cap] if cap else rows)


def _searched_page(
    qs: QuerySet[Contact],
    terms: set[str],
    *,
    filtered: bool,
    sort: str,
    order: str,
    limit: int,
    offset: int,
) -> Page:
    """Word-prefix search: every query word must start a word of the contact's name, email,
    handles or tags. Matching ids come from the token index (rarest word first, each read
    capped so a common word costs little). Up to SPARSE_MATCHES matches are sorted here; more
    are paged by the database walking the sort order, quick because matches are then dense."""
    if len(terms) == 1:
        (term,) = terms
        sample = _term_ids(term, SPARSE_MATCHES + 1)
        if len(sample) > SPARSE_MATCHES:
            total = _token_range(term).values("contact_id").distinct().count()
            return _dense_page(qs, terms, filtered, sort, order, limit, offset, total)
        ids = set(sample)
    else:  # the database intersects the words' contact ids (INTERSECT is distinct)
        first, *rest = sorted(terms)
        matches = _token_range(first).values_list("contact_id", flat=True)
        ids = set(
            matches.intersection(
                *(_token_range(t).values_list("contact_id", flat=True) for t in rest)
            )
        )
    if len(ids) <= SPARSE_MATCHES:
        pairs = list(qs.filter(pk__in=ids).values_list("id", sort)) if ids else []
        pairs.sort(key=lambda p: (p[1] is not None, p[1], p[0]), reverse=order == "desc")
        page_ids = [pk for pk, _ in pairs[offset : offset + limit]]
        by_id = {c.pk: c for c in _attach(list(Contact.objects.filter(pk__in=page_ids)))}
        return Page(items=[by_id[pk] for pk in page_ids if pk in by_id], total=len(pairs))
    return _dense_page(qs, terms, filtered, sort, order, limit, offset, len(ids))


def _dense_page(
    qs: QuerySet[Contact],
    terms: set[str],
    filtered: bool,
    sort: str,
    order: str,
    limit: int,
    offset: int,
    total: int,
) -> Page:
    """Many matches: walk the sort order, keeping contacts that have every word."""
    for term in terms:
        qs = qs.filter(Exists(_token_range(term).filter(contact=OuterRef("pk"))))
    prefix = "-" if order == "desc" else ""
    items = _attach(list(qs.order_by(f"{prefix}{sort}", f"{prefix}id")[offset : offset + limit]))
    return Page(items=items, total=qs.count() if filtered else total)


def interaction_list(*, contact: Contact, limit: int = 50) -> list[Interaction]:
    return list(contact.interactions.order_by("-occurred_at", "-id")[:limit])


def conversation_list(
    *,
    platform: str | None = None,
    contact_id: int | None = None,
    active: bool | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> Page:
    now = now or timezone.now()
    qs = Conversation.objects.select_related("handle")
    if platform:
        qs = qs.filter(platform=platform)
    if contact_id is not None:
        qs = qs.filter(contact_id=contact_id)
    if active is True:
        qs = qs.filter(last_message_at__gte=now - ACTIVE_WITHIN)
    elif active is False:
        qs = qs.exclude(last_message_at__gte=now - ACTIVE_WITHIN)
    items = list(qs.order_by("-last_message_at", "-id")[offset : offset + limit])
    return Page(items=items, total=qs.count())


def conversation_get(*, conversation_id: int) -> Conversation | None:
    return Conversation.objects.select_related("handle").filter(pk=conversation_id).first()


def message_list(*, conversation: Conversation, limit: int = 50) -> list[Message]:
    """The newest `limit` messages, oldest first."""
    newest = list(conversation.messages.order_by("-sent_at", "-id")[:limit])
    return newest[::-1]


def conversation_state(*, platform: str, username: str) -> dict[str, Any]:
    """What the outreach guards need to know about a handle. A name-only record spelled like it
    (crm/identity.py) counts too: its do-not-contact, its replies and our sends are this
    person's. `display_only` says `username` itself is only a name an inbox showed."""
    handle = (
        PlatformAccount.objects.select_related("contact")
        .filter(platform=platform, username_key=handle_key(username), display_only=False)
        .first()
    )
    shown = shown_for(platform=platform, username=username)
    records = [r for r in (handle, shown) if r is not None]
    if not records:
        return {
            "contact_id": None,
            "do_not_contact": False,
            "has_inbound": False,
            "last_outbound_at": None,
            "last_inbound_at": None,
            "display_only": False,
        }
    conversations = list(Conversation.objects.filter(handle__in=records))
    last_in = max(filter(None, (c.last_inbound_at for c in conversations)), default=None)
    last_out = max(filter(None, (c.last_outbound_at for c in conversations)), default=None)
    # A name no handle can be is only a name; one spelled like a handle may be that handle.
    name_only = handle is None and shown is not None and not could_be_handle(platform, username)
    return {
        "contact_id": str(records[0].contact_id),
        "do_not_contact": any(r.contact.do_not_contact for r in records),
        "has_inbound": last_in is not None,
        "last_outbound_at": last_out.isoformat() if last_out else None,
        "last_inbound_at": last_in.isoformat() if last_in else None,
        "display_only": name_only,
    }


def sync_history(*, limit: int = 50) -> list[SyncRun]:
    return list(SyncRun.objects.order_by("-started_at", "-id")[:limit])


def crm_stats(*, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    by_stage = dict(
        Contact.objects.values_list("pipeline_stage").annotate(n=Count("id")).order_by()
    )
    by_platform = dict(
        PlatformAccount.objects.values_list("platform")
        .annotate(n=Count("contact_id", distinct=True))
        .order_by()
    )
    last = SyncRun.objects.filter(finished_at__isnull=False).order_by("-finished_at").first()
    return {
        "contacts": {
            "total": Contact.objects.count(),
            "by_stage": by_stage,
            "by_platform": by_platform,
        },
        "conversations": {
            "active": Conversation.objects.filter(last_message_at__gte=now - ACTIVE_WITHIN).count(),
            "total": Conversation.objects.count(),
            "total_messages": Message.objects.count(),
        },
        "last_sync": last.finished_at.isoformat() if last and last.finished_at else None,
    }


def platform_account_list(
    *, platform: str | None = None, contact_id: int | None = None, limit: int = 500
) -> list[PlatformAccount]:
    qs = PlatformAccount.objects.all()
    if platform:
        qs = qs.filter(platform=platform)
    if contact_id is not None:
        qs = qs.filter(contact_id=contact_id)
    return list(qs.order_by("id")[:limit])


def campaign_list(*, status: str | None = None, platform: str | None = None) -> list[Campaign]:
    qs = Campaign.objects.order_by("-created_at", "-id")
    if status:
        qs = qs.filter(status=status)
    campaigns = list(qs)
    if platform:
        campaigns = [c for c in campaigns if not c.platforms or platform in c.platforms]
    return campaigns


def campaign_get(*, campaign_id: int) -> Campaign | None:
    return Campaign.objects.filter(pk=campaign_id).first()


def campaign_targets(
    *, campaign: Campaign, platform: str, limit: int
) -> list[tuple[Contact, PlatformAccount]]:
    """The next contacts of a campaign on a platform: matching its criteria, reachable there,
    never do-not-contact, never already sent by this campaign; highest score first."""
    criteria = campaign.target_criteria or {}
    if campaign.platforms and platform not in campaign.platforms:
        return []
    if criteria.get("platform") and criteria["platform"] != platform:
        return []
    on_platform = PlatformAccount.objects.filter(
        contact=OuterRef("pk"), platform=platform, display_only=False
    )
    already = CampaignRecipient.objects.filter(contact=OuterRef("pk"), campaign=campaign)
    qs = Contact.objects.filter(Exists(on_platform), do_not_contact=False).exclude(Exists(already))
    stages = list(criteria.get("stages") or []) + (
        [criteria["stage"]] if criteria.get("stage") else []
    )
    if stages:
        qs = qs.filter(pipeline_stage__in=stages)
    tags = [str(t).strip().lower() for t in criteria.get("tags") or []]
    if tags:
        tagged = Contact.tags.through.objects.filter(contact_id=OuterRef("pk"), tag__name__in=tags)
        qs = qs.filter(Exists(tagged))
    if criteria.get("min_score") is not None:
        qs = qs.filter(relationship_score__gte=int(criteria["min_score"]))
    if criteria.get("max_score") is not None:
        qs = qs.filter(relationship_score__lte=int(criteria["max_score"]))
    contacts = list(
        qs.order_by("-relationship_score", "id").prefetch_related(
            Prefetch(
                "handles",
                queryset=PlatformAccount.objects.order_by("-is_primary", "id"),
            ),
            "tags",
        )[:limit]
    )
    out = []
    for contact in contacts:
        handle = next(
            h for h in contact.handles.all() if h.platform == platform and not h.display_only
        )
        out.append((contact, handle))
    return out
