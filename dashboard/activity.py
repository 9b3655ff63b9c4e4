"""Recent activity in words: "Sent DM to @maya on TikTok", "Completed: Way of Dragon finale".

`describe` turns one event into the sentence the dashboard's feed and `scheduler top` show.
Bookkeeping events (claims, starts, progress, intents) describe as "": the feed keeps them
behind its details toggle, with their raw kinds. Every Sora event but its submit intent, and
every host event (a Mac's workers online, stopped, offline), has a sentence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dm.platforms import PLATFORM_LABELS

LABELS = {**PLATFORM_LABELS, "sora": "Sora"}


def platform_label(name: Any) -> str:
    text = str(name or "")
    return LABELS.get(text, text.title())


def _handle(value: Any) -> str:
    text = str(value or "?")
    return text if text.startswith(("@", "http")) else f"@{text}"


def describe(
    kind: str,
    *,
    message: str = "",
    data: Mapping[str, Any] | None = None,
    task: Mapping[str, Any] | None = None,
) -> str:
    """The sentence for one event; "" when it is bookkeeping. `task` holds the event's task's
    `name`, `type` and `result` when the event belongs to one."""
    data = data or {}
    task = task or {}
    name = str(task.get("name") or data.get("name") or "")
    where = platform_label(data.get("platform"))
    if kind.startswith("send."):
        return _send(kind, data, where, message)
    if kind == "dm.reply_received":
        who = _handle(data.get("username") or data.get("from"))
        return f"{who} replied on {where}" + (f": “{data['text']}”" if data.get("text") else "")
    if kind == "task.completed":
        return _completed(task, name)
    if kind == "task.failed":
        return f"Failed: {name}" + (f" — {message}" if message else "")
    if kind == "task.blocked":
        return f"Needs you: {name}" + (f" — {message}" if message else "")
    if kind == "task.created":
        return f"Queued: {name}" if name else ""
    if kind == "task.cancelled":
        return f"Cancelled: {name}"
    if kind.startswith("host."):
        return _host(kind, message)
    if kind in SIMPLE:
        fields = _Fields({**_safe(data), "where": where, "message": message})
        return SIMPLE[kind].format_map(fields)
    return ""


def _host(kind: str, message: str) -> str:
    """A Mac's workers came, stopped or went silent: their message says it ("host laptop
    offline since 10:02:03: …"), with the host capitalised to lead the line."""
    if not message:
        return f"Host {kind.removeprefix('host.')}"
    return message[:1].upper() + message[1:]


SIMPLE = {
    "scheduler.started": "Scheduler started",
    "scheduler.stopped": "Scheduler stopped",
    "scheduler.paused": "Scheduler paused {message}",
    "scheduler.resumed": "Scheduler resumed",
    "platform.paused": "{where} paused: {message}",
    "platform.resumed": "{where} resumed",
    "platform.cooldown": "{where} rate-limited: {message}",
    "sora.credits_refreshed": "Sora credits came back: {message}",
    "sora.trilogy_queued": "Queued trilogy {message}",
    "sora.credits_checked": "{message}",  # "Sora credits: 40 remaining"
    "sora.trigger_fired": "Sora trigger {message}",
    "sora.trilogy_admitted": "Sora trilogy {message}",
    "sora.trilogy_released": "Sora trilogy {message}",
    "sora.video_submitted": "Sora video #{videoId} {message}",
    "sora.video_intent_cleared": "Sora video #{videoId} {message}",
    "sora.video_ready": "Sora {message}",
    "sora.video_failed": "Sora video #{videoId} {message}",
    "sora.video_decided": "Sora video #{videoId} {message}",
    "sora.video_resubmitted": "Sora video #{videoId}: {message}",
    "sora.command_recovered": "Sora: {message}",
}
# Sora bookkeeping, behind the feed's details toggle: the intent written before a submit (its
# outcome, submitted or not, has a sentence).
BOOKKEEPING = {"sora.video_intent"}


class _Fields(dict[str, str]):
    """A sentence's fields; one the event's data lacks reads as "?" instead of failing."""

    def __missing__(self, key: str) -> str:
        return "?"


def _safe(data: Mapping[str, Any]) -> dict[str, str]:
    """Only identifier-named keys, so `str.format` never sees a surprise."""
    return {k: str(v) for k, v in data.items() if isinstance(k, str) and k.isidentifier()}


def _send(kind: str, data: Mapping[str, Any], where: str, message: str) -> str:
    action = data.get("action", "dm")
    target = data.get("recipient")
    if action == "comment":
        what = f"comment on {where}" + (f" ({target})" if target else "")
    else:
        what = f"DM to {_handle(target)} on {where}"
    if kind == "send.sent":
        return f"Sent {what}" if action != "comment" else f"Posted a {what}"
    if kind == "send.failed":
        return f"{what[0].upper()}{what[1:]} failed: {message}"
    if kind == "send.limited":
        return f"{where} rate-limited; {what} waits"
    return ""


def _completed(task: Mapping[str, Any], name: str) -> str:
    result = task.get("result")
    result = result if isinstance(result, Mapping) else {}
    if task.get("type") == "sync" and "conversations" in result:
        where = platform_label(task.get("platform"))
        line = f"Synced {result['conversations']} {where} conversations"
        replies = result.get("newReplies")
        return line + (f", {replies} new replies" if replies else "")
    if task.get("type") in {"dm", "comment", "probe", "cleanup", "sora_check"}:
        return ""  # the send event says it better, or it is housekeeping
    return f"Completed: {name}"
