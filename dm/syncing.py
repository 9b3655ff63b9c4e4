"""Inbox sync, read side: what the DM services' inboxes are worth (CONTRACTS.md "How the real
services behave": "Identity" and "Reading back proves little").

- A conversation list names people by the name it *shows* ("Maya Builds"), not by the handle
  we send to. We name a conversation by a handle when our own send ledger knows one spelled
  like it (`maya_builds`, `mayabuilds`, `maya.builds`); otherwise the CRM gets the shown name
  with `shown_name: true`, matches it to a handle it knows, or keeps it as a name-only record
  that is never messaged (crm/identity.py).
- Read-back ids and times identify nothing: TikTok numbers ids by position and stamps every
  message with the time of the read, Instagram gives "" or "2h", X gives none (and its reads
  are empty). So messages go to the CRM without ids and with `sent_at: null`, and the CRM
  matches them by content and order within the conversation.
- TikTok reads a conversation by the name its own list gave (`conversationId`); Instagram and
  X open one by handle, so they are read by the handle when we know it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from django.db.models.functions import Lower

from dm.clients import UnifiedDMClient
from dm.clients.types import Conversation
from dm.models import Action, SendLedger
from safari_auto.http import ServiceError

_WORD = re.compile(r"[^\W_]+")
READ_BY_SHOWN_NAME = frozenset({"tiktok"})


def spellings(name: str) -> set[str]:
    """The handles a shown name may stand for, lower-case: its words joined by nothing, `_`,
    `.` or `-`, and the name itself."""
    words = _WORD.findall(name.casefold())
    return (
        {sep.join(words) for sep in ("", "_", ".", "-")} | {name.strip().lstrip("@").lower()}
    ) - {""}


def ledger_handles(*, platform: str, names: Iterable[str]) -> dict[str, str]:
    """The handle our own sends went to for each shown name, when exactly one is spelled so."""
    wanted = {name: spellings(name) for name in names}
    everyone = {s for spelled in wanted.values() for s in spelled}
    sent: dict[str, set[str]] = defaultdict(set)
    for recipient, low in (
        SendLedger.objects.filter(platform=platform, action=Action.DM)
        .annotate(low=Lower("recipient"))
        .filter(low__in=everyone)
        .values_list("recipient", "low")
        .distinct()
    ):
        sent[low].add(recipient)
    out: dict[str, str] = {}
    for name, spelled in wanted.items():
        found = {low for low in spelled if low in sent}
        if len(found) == 1:
            out[name] = sorted(sent[found.pop()])[0]
    return out


def conversations_named(platform: str, items: list[Conversation]) -> list[Conversation]:
    """A conversation list with the handle in `username` where the ledger knows it (the shown
    name stays in `display_name`)."""
    known = ledger_handles(platform=platform, names=[c["username"] for c in items])
    return [
        {
            **c,
            "username": known.get(c["username"], c["username"]),
            "display_name": c["display_name"],
        }
        for c in items
    ]


def inbox_read(
    client: UnifiedDMClient,
    platform: str,
    *,
    most: int,
    check_cancelled: Callable[[], None] = lambda: None,
) -> tuple[list[dict[str, Any]], list[str]]:
    """The CRM sync payload's conversations, and the names whose messages could not be read."""
    listed = client.conversations(platform)[:most]
    known = ledger_handles(platform=platform, names=[c["username"] for c in listed])
    payload: list[dict[str, Any]] = []
    unread: list[str] = []
    for item in listed:
        check_cancelled()
        shown = item["username"]
        if not shown:
            continue
        handle = known.get(shown)
        read_as = shown if platform in READ_BY_SHOWN_NAME or handle is None else handle
        try:
            messages = client.messages(platform, read_as, limit=50)
        except (ServiceError, ValueError):
            unread.append(shown)
            messages = []
        payload.append(
            {
                "username": handle or shown,
                "display_name": item["display_name"] or shown,
                "shown_name": handle is None,
                "messages": [
                    {
                        "text": m["text"],
                        "direction": "outbound" if m["is_outbound"] else "inbound",
                        "sent_at": None,
                    }
                    for m in messages
                    if m["text"]
                ],
            }
        )
    return payload, unread
