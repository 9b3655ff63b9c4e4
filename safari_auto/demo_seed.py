"""The demo's data: what `make run` shows at work within a minute (`manage.py demo seed`).

Only in demo mode (`DEMO=1`), and idempotent: a second run adds nothing that is there.

- contacts tagged `demo`, each with the same handle on TikTok, Instagram and X (the first three
  are the people the simulators' inboxes already hold conversations with);
- "[demo] Warm intro", an active campaign on the three platforms aimed at the `demo` tag;
- DM automation on for each platform with a whole-day window (00:00-00:00), which makes the
  sync and outreach schedules and queues a probe of each platform;
- the campaign's first DMs and an inbox sync queued at once, through the same functions the
  schedules call, so nothing waits for the first scheduled minute;
- the Sora trilogies imported, one "[demo] …" trilogy run waiting for its credits, and a credit
  check queued now (the simulator has none left and a refresh a few minutes out).

Every demo row says so: the `demo` tag on contacts, "[demo]" in campaign and run names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from crm import selectors as crm_selectors
from crm import services as crm_services
from crm.campaign_templates import template_body
from crm.models import Campaign, Contact
from dm.automation import automation_set, outreach_tick, sync_tick
from dm.platforms import DM_PLATFORMS
from sora import importer
from sora import selectors as sora_selectors
from sora import services as sora_services
from sora.models import TrilogyRun

DEMO_TAG = "demo"
DEMO_PREFIX = "[demo] "
CAMPAIGN_NAME = f"{DEMO_PREFIX}Warm intro"
WHOLE_DAY = time(0, 0)  # a window that opens and closes at midnight is open all day
TRILOGIES_FILE = Path(settings.BASE_DIR) / "sora" / "fixtures" / "trilogies.json"
PEOPLE = (
    ("Maya Builds", "maya_builds"),
    ("Leo Creates", "leo.creates"),
    ("Sam Ships", "sam_ships"),
    ("Ana Films", "ana.films"),
    ("Kofi Codes", "kofi_codes"),
    ("Priya Paints", "priya.paints"),
    ("Jonas Bakes", "jonas_bakes"),
    ("Mei Travels", "mei.travels"),
    ("Diego Lifts", "diego_lifts"),
    ("Zoe Writes", "zoe.writes"),
    ("Omar Sings", "omar_sings"),
    ("Lena Plants", "lena.plants"),
)


class DemoModeOff(RuntimeError):
    """The seed runs only with DEMO=1: real data never gets demo rows."""


@dataclass
class SeedResult:
    contacts_created: int = 0
    campaign: str = ""
    platforms: list[str] = field(default_factory=list)
    dms_queued: int = 0
    syncs_queued: int = 0
    trilogy_run: str = ""

    def lines(self) -> list[str]:
        return [
            f"demo contacts: {self.contacts_created} new ({len(PEOPLE)} in all, tagged "
            f"'{DEMO_TAG}')",
            f"campaign: {self.campaign} (active on {', '.join(self.platforms)})",
            f"DM automation: {', '.join(self.platforms)} all day (00:00-00:00)",
            f"queued now: {self.dms_queued} DMs, {self.syncs_queued} inbox syncs",
            f"Sora: {self.trilogy_run} waits for credits",
        ]


def demo_seed(*, now: datetime | None = None) -> SeedResult:
    """Seed (or top up) the demo; raises DemoModeOff unless DEMO=1."""
    if not settings.DEMO:
        raise DemoModeOff("the demo seed runs only with DEMO=1 (it would label real data demo)")
    now = now or timezone.now()
    result = SeedResult(platforms=list(DM_PLATFORMS))
    result.contacts_created = sum(_person(name, username, now) for name, username in PEOPLE)
    result.campaign = demo_campaign(now=now).name
    host = settings.SAFARI_HOST
    for platform in DM_PLATFORMS:
        automation_set(platform=platform, start=WHOLE_DAY, end=WHOLE_DAY, host=host)
    for platform in DM_PLATFORMS:
        result.dms_queued += len(outreach_tick(platform, host, now))
    for platform in DM_PLATFORMS:
        result.syncs_queued += len(sync_tick(platform, host, now))
    result.trilogy_run = demo_trilogy(now=now).label
    sora_services.credit_check_ensure(now=now, reason="demo start", due_now=True)
    return result


def _person(name: str, username: str, now: datetime) -> bool:
    """One demo contact with a handle on every DM platform; True when it was new."""
    first, *others = DM_PLATFORMS
    contact, created = crm_services.contact_upsert(
        platform=first, username=username, display_name=name, now=now
    )
    for platform in others:
        owner = crm_selectors.contact_by_handle(platform=platform, username=username)
        if owner is None:
            data = {"platform": platform, "username": username, "display_name": name}
            crm_services.platform_account_create(contact=contact, data=data, now=now)
        elif owner.pk != contact.pk:
            _tag(owner)
    _tag(contact)
    return created


def _tag(contact: Contact) -> None:
    if not contact.tags.filter(name=DEMO_TAG).exists():
        crm_services.contact_tag_add(contact=contact, tag=DEMO_TAG)


def demo_campaign(*, now: datetime) -> Campaign:
    """The demo's outreach campaign, active on the DM platforms, aimed at demo contacts."""
    campaign = Campaign.objects.filter(name=CAMPAIGN_NAME).first()
    if campaign is None:
        body = template_body("warm-intro")
        body["target_criteria"] = {**body["target_criteria"], "tags": [DEMO_TAG]}
        body.update(name=CAMPAIGN_NAME, platforms=list(DM_PLATFORMS))
        campaign = crm_services.campaign_create(data=body, now=now)
    if campaign.status != Campaign.Status.ACTIVE:
        crm_services.campaign_set_status(campaign=campaign, status="active", now=now)
    return campaign


def demo_trilogy(*, now: datetime) -> TrilogyRun:
    """A demo trilogy run waiting for credits: the one already waiting, or the next trilogy's."""
    waiting = TrilogyRun.objects.filter(
        label__startswith=DEMO_PREFIX, admitted_at__isnull=True
    ).first()
    if waiting is not None:
        return waiting
    trilogies = list(sora_selectors.trilogy_list())
    if not trilogies:
        importer.batch_import_file(path=TRILOGIES_FILE)
        trilogies = list(sora_selectors.trilogy_list())
    done = TrilogyRun.objects.filter(label__startswith=DEMO_PREFIX).count()
    trilogy = trilogies[done % len(trilogies)]
    queued = sora_services.trilogy_queue(
        slug=trilogy.slug,
        label=f"{DEMO_PREFIX}{trilogy.title}",
        wait_for_credits=trilogy.parts.count(),
        idempotency_key=f"demo:{trilogy.slug}:{done + 1}",
        now=now,
    )
    return queued.run
