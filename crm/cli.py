"""Tables for `manage.py crm …` (rich, rendered to plain text for the command's stdout)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.utils import timezone
from rich.console import Console, RenderableType
from rich.table import Table

from crm.models import Campaign, Contact, Conversation, Message


def render(*items: RenderableType) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=140, force_terminal=False, color_system=None)
    for item in items:
        console.print(item)
    return buffer.getvalue()


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _handles(contact: Contact) -> str:
    handles = getattr(contact, "page_handles", None)
    if handles is None:
        handles = list(contact.handles.all())
    return ", ".join(f"{h.platform}:{h.username}" for h in handles) or "-"


def contacts_table(contacts: Sequence[Contact], total: int) -> Table:
    table = Table(
        title=f"Contacts ({len(contacts)} of {total})", title_justify="left", min_width=40
    )
    for column in ("ID", "NAME", "HANDLES", "STAGE", "SCORE", "LAST MESSAGE", ""):
        table.add_column(column, overflow="fold")
    for contact in contacts:
        table.add_row(
            str(contact.pk),
            contact.display_name,
            _handles(contact),
            contact.pipeline_stage,
            str(contact.relationship_score),
            _when(contact.last_message_at),
            "do not contact" if contact.do_not_contact else "",
        )
    return table


def contact_detail(
    contact: Contact, threads: Sequence[tuple[Conversation, Sequence[Message]]]
) -> list[RenderableType]:
    facts = Table(
        title=f"Contact {contact.pk}: {contact.display_name}",
        title_justify="left",
        show_header=False,
        min_width=40,
    )
    facts.add_column("field", style="bold")
    facts.add_column("value", overflow="fold")
    for key, value in (
        ("handles", _handles(contact)),
        ("stage", contact.pipeline_stage),
        ("score", str(contact.relationship_score)),
        ("tags", ", ".join(t.name for t in contact.tags.all()) or "-"),
        ("do not contact", "yes" if contact.do_not_contact else "no"),
        (
            "messages",
            f"{contact.total_messages_sent} sent, {contact.total_messages_received} received",
        ),
        ("last message", _when(contact.last_message_at)),
        ("notes", contact.notes or "-"),
    ):
        facts.add_row(key, value)
    items: list[RenderableType] = [facts]
    for conversation, messages in threads:
        table = Table(
            title=f"{conversation.platform} · @{conversation.handle.username}",
            title_justify="left",
            min_width=40,
        )
        table.add_column("WHEN")
        table.add_column("WHO")
        table.add_column("TEXT", overflow="fold")
        for message in messages:
            who = "me" if message.direction == "outbound" else contact.display_name
            table.add_row(_when(message.sent_at), who, message.text)
        items.append(table)
    if not threads:
        items.append("No conversations yet.")
    return items


def campaigns_table(campaigns: Sequence[Campaign]) -> Table:
    table = Table(title="Campaigns", title_justify="left", min_width=40)
    for column in ("ID", "NAME", "STATUS", "PLATFORMS", "SENT", "REPLIED", "FIRST MESSAGE"):
        table.add_column(column, overflow="fold")
    for campaign in campaigns:
        first = campaign.message_templates[0] if campaign.message_templates else ""
        table.add_row(
            str(campaign.pk),
            campaign.name,
            campaign.status,
            ", ".join(campaign.platforms) or "all",
            str(campaign.sent_count),
            str(campaign.replied_count),
            str(first)[:80],
        )
    return table


def templates_table(templates: Mapping[str, Mapping[str, Any]]) -> Table:
    table = Table(title="Campaign templates", title_justify="left", min_width=40)
    for column in ("TEMPLATE", "WHAT", "MESSAGE"):
        table.add_column(column, overflow="fold")
    for name, body in sorted(templates.items()):
        table.add_row(name, str(body.get("description", "")), str(body["message_templates"][0]))
    return table
