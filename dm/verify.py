"""Did an interrupted send go out? Only a trustworthy read of the conversation may say so.

CONTRACTS.md, "How the real services behave", and DESIGN.md, "Side effects happen at most
once". The protocol, around every DM send:

0. Before anything, `tab_free` waits until the service is idle: a send of a worker killed
   earlier may still be typing in its tab, and one call at a time is the rule.
1. Before the send, `snapshot` counts our outbound messages with the same text in the
   conversation, when the service can read it trustworthily (it opened *this* conversation;
   X never can). The count goes into the ledger entry with the *attempting* state, before
   the service is called; None means "no trustworthy baseline".
2. After a lost answer (read timeout, 504, a socket dropped after the request left, a worker
   killed mid-send), `verify_delivery` first waits until the service is idle: it answers a
   status call once its Safari tab is free of the send, which may still be typing. Reading
   earlier would drive the same tab and could see a partial thread.
   A service may also answer status from the front tab while its send still types, so the
   read also waits until `DM_SEND_SETTLE_SECONDS` have passed since the attempt began (the
   longest a real send runs, with margin; bounded by `DM_IDLE_WAIT_SECONDS`).
3. Then it reads again. More matching messages than the baseline: sent. None before and
   none now, in a read that shows the conversation (not empty): not sent (a new message is
   the newest, so it would be in the window). Anything else (no baseline, the open failed, an
   empty read, as many as a non-zero baseline — a window that scrolled could hide the new
   one —, fewer than before, the tab never came free): None, and a human decides. TikTok's
   read-time timestamps and positional ids are never used: only texts.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from dm.clients import UnifiedDMClient
from dm.clients.types import Message
from safari_auto.http import ServiceError
from safari_auto.text import normalise_text

READ_LIMIT = 50


def matching(messages: list[Message], text: str) -> int:
    """How many of our outbound messages carry `text` (normalised)."""
    target = normalise_text(text)
    return sum(1 for m in messages if m["is_outbound"] and normalise_text(m["text"]) == target)


def _read(client: UnifiedDMClient, platform: str, username: str) -> list[Message] | None:
    if not username:
        return None
    try:
        return client.thread_read(platform, username, READ_LIMIT)
    except (ServiceError, ValueError):
        return None


def tab_free(client: UnifiedDMClient, platform: str) -> bool:
    """Before driving a service's tab: wait until no send is running in it (a send of a
    worker that was killed may still be typing). False: still busy at the bound, or down."""
    return client.wait_idle(platform, settings.DM_IDLE_WAIT_SECONDS)


def snapshot(client: UnifiedDMClient, *, platform: str, username: str, text: str) -> int | None:
    """Matching outbound messages before the send, or None when no read can be trusted."""
    messages = _read(client, platform, username)
    return None if messages is None else matching(messages, text)


def settle(started_at: datetime | None) -> None:
    """Wait until a send begun at `started_at` can no longer be typing (see step 2)."""
    if started_at is None:
        return
    until = started_at + timedelta(seconds=settings.DM_SEND_SETTLE_SECONDS)
    remaining = (until - timezone.now()).total_seconds()
    if remaining > 0:
        time.sleep(min(remaining, settings.DM_IDLE_WAIT_SECONDS))


def verify_delivery(
    client: UnifiedDMClient | None,
    *,
    platform: str,
    username: str,
    text: str,
    baseline: int | None,
    started_at: datetime | None = None,
) -> bool | None:
    """True: the text is newly in the conversation. False: a trustworthy read shows it is
    not. None: cannot tell. Waits for the service to be idle first, whatever follows, so that
    the caller (still holding Safari) never starts another call on a busy tab."""
    if client is None:
        return None
    settle(started_at)
    if not client.wait_idle(platform, settings.DM_IDLE_WAIT_SECONDS):
        return None
    if baseline is None:
        return None
    messages = _read(client, platform, username)
    if not messages:
        return None
    count = matching(messages, text)
    if count > baseline:
        return True
    return False if count == baseline == 0 else None
