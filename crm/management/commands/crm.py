"""`manage.py crm …`: contacts and campaigns from the command line.

contacts [--search …]        list or search contacts (a table; --json for scripts)
contact ID|platform:handle   one contact with its handles and conversations
campaigns [--status …]       list campaigns
campaign templates|create|start|stop …
"""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from crm import cli, selectors, services
from crm.api.serializers import CampaignSerializer, ContactSerializer
from crm.campaign_templates import TEMPLATES, template_body
from crm.models import Campaign, Contact, Platform, Stage


class Command(BaseCommand):
    help = "CRM from the command line: contacts (list, search, show) and campaigns."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        contacts = sub.add_parser("contacts", help="List or search contacts.")
        contacts.add_argument("--search", default="", help="Words to find in names, handles, tags.")
        contacts.add_argument("--platform", choices=Platform.values, help="Only this platform.")
        contacts.add_argument("--stage", choices=Stage.values, help="Only this pipeline stage.")
        contacts.add_argument("--limit", type=int, default=25, help="Rows (default 25).")
        contact = sub.add_parser("contact", help="Show a contact and its conversations.")
        contact.add_argument("who", help="A contact id, or platform:handle (tiktok:maya_builds).")
        contact.add_argument("--messages", type=int, default=10, help="Messages per conversation.")
        campaigns = sub.add_parser("campaigns", help="List campaigns.")
        campaigns.add_argument("--status", choices=Campaign.Status.values, help="Only this status.")
        campaign = sub.add_parser("campaign", help="templates | create | start ID | stop ID")
        campaign.add_argument("verb", choices=["templates", "create", "start", "stop"])
        campaign.add_argument("id", nargs="?", help="The campaign's id (start, stop).")
        campaign.add_argument("--template", choices=sorted(TEMPLATES), help="Start from this.")
        campaign.add_argument("--name", default="", help="The campaign's name (create).")
        campaign.add_argument(
            "--platform",
            action="append",
            choices=Platform.values,
            help="A platform it runs on (repeat for several; default: all).",
        )
        campaign.add_argument("--message", default="", help="The message (instead of a template).")
        campaign.add_argument("--start", action="store_true", help="Start it right away (create).")
        for reader in (contacts, contact, campaigns, campaign):
            reader.add_argument("--json", action="store_true", help="Print JSON for scripts.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"do_{options['action']}")(options)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None

    def emit(self, options: dict[str, Any], document: Any, text: str) -> None:
        if options.get("json"):
            self.stdout.write(json.dumps(document, cls=DjangoJSONEncoder, indent=2))
        else:
            self.stdout.write(text, ending="")

    def do_contacts(self, options: dict[str, Any]) -> None:
        if not 1 <= options["limit"] <= 500:
            raise CommandError("--limit must be between 1 and 500")
        page = selectors.contact_list(
            search=options["search"] or None,
            platform=options.get("platform"),
            stage=options.get("stage"),
            limit=options["limit"],
        )
        document = {
            "contacts": [dict(ContactSerializer(c).data) for c in page.items],
            "total": page.total,
        }
        if not page.items and not options.get("json"):
            self.stdout.write("No contacts match." if options["search"] else "No contacts yet.")
            return
        self.emit(options, document, cli.render(cli.contacts_table(page.items, page.total)))

    def _find(self, who: str) -> Contact:
        if ":" in who:
            platform, _, username = who.partition(":")
            if platform not in Platform.values:
                raise CommandError(f"unknown platform {platform!r}")
            found = selectors.contact_by_handle(platform=platform, username=username)
        elif who.isdigit() and len(who) < 19:
            found = selectors.contact_get(contact_id=int(who))
        else:
            raise CommandError("give a contact id or platform:handle (e.g. tiktok:maya_builds)")
        if found is None:
            raise CommandError(f"No contact {who}.")
        return found

    def do_contact(self, options: dict[str, Any]) -> None:
        contact = self._find(options["who"])
        limit = max(1, min(options["messages"], 200))
        threads = [
            (c, selectors.message_list(conversation=c, limit=limit))
            for c in selectors.conversation_list(contact_id=contact.pk, limit=20).items
        ]
        document = {
            "contact": dict(ContactSerializer(contact).data),
            "conversations": [
                {
                    "platform": c.platform,
                    "username": c.handle.username,
                    "messages": [
                        {"direction": m.direction, "text": m.text, "sent_at": m.sent_at}
                        for m in messages
                    ],
                }
                for c, messages in threads
            ],
        }
        self.emit(options, document, cli.render(*cli.contact_detail(contact, threads)))

    def do_campaigns(self, options: dict[str, Any]) -> None:
        rows = selectors.campaign_list(status=options.get("status"))
        document = {"campaigns": [dict(CampaignSerializer(c).data) for c in rows]}
        if not rows and not options.get("json"):
            self.stdout.write(
                "No campaigns yet. Start one: python manage.py crm campaign create "
                '--template warm-intro --name "Hello" --platform tiktok --start'
            )
            return
        self.emit(options, document, cli.render(cli.campaigns_table(rows)))

    def do_campaign(self, options: dict[str, Any]) -> None:
        verb = options["verb"]
        if verb == "templates":
            document = {"templates": TEMPLATES}
            self.emit(options, document, cli.render(cli.templates_table(TEMPLATES)))
            return
        if verb == "create":
            campaign = self._create(options)
        else:
            campaign = self._campaign(options.get("id"))
            status = Campaign.Status.ACTIVE if verb == "start" else Campaign.Status.PAUSED
            campaign = services.campaign_set_status(campaign=campaign, status=status)
        word = {"active": "running", "paused": "paused", "draft": "a draft"}.get(
            campaign.status, campaign.status
        )
        self.emit(
            options,
            dict(CampaignSerializer(campaign).data),
            f"Campaign {campaign.pk} “{campaign.name}” is {word}.\n",
        )

    def _campaign(self, raw: str | None) -> Campaign:
        if not raw or not raw.isdigit() or len(raw) > 18:
            raise CommandError("give the campaign's id (see `crm campaigns`)")
        found = selectors.campaign_get(campaign_id=int(raw))
        if found is None:
            raise CommandError(f"No campaign {raw}.")
        return found

    def _create(self, options: dict[str, Any]) -> Campaign:
        if not options["name"].strip():
            raise CommandError("--name is required to create a campaign")
        if options.get("template"):
            body = template_body(options["template"])
        elif options["message"].strip():
            body = {"message_templates": [options["message"].strip()]}
        else:
            raise CommandError("give --template NAME (see `crm campaign templates`) or --message")
        body["name"] = options["name"].strip()
        if options["message"].strip():
            body["message_templates"] = [options["message"].strip()]
        body["platforms"] = list(dict.fromkeys(options.get("platform") or []))
        body["status"] = Campaign.Status.ACTIVE if options["start"] else Campaign.Status.DRAFT
        return services.campaign_create(data=body)
