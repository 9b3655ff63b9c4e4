"""`scheduler dm …` and `scheduler platform show|pause|resume|limits|probe …`.

Registered with the scheduler command through `register_cli`; each parses flags, calls one
service, and prints a line per result.
"""

from __future__ import annotations

import argparse
import json
from datetime import time
from typing import Any, Protocol

from django.core.management.base import CommandError
from django.utils import timezone

from crm.client import CrmError, get_client
from dm import automation, selectors, services
from dm.accounts import account_get_or_create
from dm.platforms import DM_PLATFORMS
from scheduler import idempotency
from scheduler.timeparse import parse_clock

DM_HELP = "DM automation: set a platform's window and switch it on (or off), or send a DM."
PLATFORM_HELP = "Show, pause, resume, probe a platform account or change its limits."


class Writer(Protocol):
    def write(self, msg: str, /) -> Any: ...


def clock(text: str) -> time:
    """`9:00`, `09:00` or `17` as a time of day."""
    try:
        return parse_clock(text)
    except ValueError as error:
        raise CommandError(str(error)) from None


def dm_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--platform", required=True, choices=DM_PLATFORMS, help="The platform.")
    parser.add_argument("--start", help="Window start, HH:MM in the account's time zone.")
    parser.add_argument("--end", help="Window end, HH:MM.")
    parser.add_argument("--account", default="", help="Account handle (default: the host's).")
    parser.add_argument("--off", action="store_true", help="Turn the platform's automation off.")
    parser.add_argument("--to", help="Send one DM to this username (with --text).")
    parser.add_argument("--text", help="The DM's text (with --to).")
    parser.add_argument("--key", default=None, help="Idempotency key for --to.")


def dm_handle(options: dict[str, Any], stdout: Writer) -> None:
    platform = options["platform"]
    if options.get("to"):
        if not options.get("text"):
            raise CommandError("--to needs --text")
        task, created = services.dm_send(
            platform=platform,
            username=options["to"],
            text=options["text"],
            account=options.get("account") or "",
            idempotency_key=options.get("key"),
            client="cli",
            request_hash=idempotency.body_hash(
                {name: options.get(name) for name in ("platform", "to", "text", "account")}
            ),
        )
        verb = "Queued" if created else "Already queued (same key)"
        stdout.write(f"{verb}: DM task {task.pk} to @{options['to']} on {platform}\n")
        return
    start = clock(options["start"]) if options.get("start") else None
    end = clock(options["end"]) if options.get("end") else None
    account = automation.automation_set(
        platform=platform,
        start=start,
        end=end,
        enabled=not options.get("off"),
        account=options.get("account") or "",
    )
    state = "on" if account.automation_enabled else "off"
    stdout.write(
        f"{platform} DM automation {state} for {account.handle}@{account.safari_host}: window "
        f"{account.active_start:%H:%M}-{account.active_end:%H:%M} ({account.timezone})\n"
    )
    if account.automation_enabled:
        _say_campaigns(platform, stdout)


def _say_campaigns(platform: str, stdout: Writer) -> None:
    """Inside the window, campaigns feed the DMs: say which, or how to start one."""
    try:
        campaigns = get_client().campaigns_active(platform=platform)
    except CrmError as exc:
        stdout.write(f"Could not read campaigns from the CRM: {exc}\n")
        return
    if campaigns:
        names = ", ".join(f"{c['name']} (#{c['id']})" for c in campaigns)
        stdout.write(f"Active campaigns on {platform}: {names}\n")
        return
    stdout.write(
        f"No active campaign on {platform}: queued DMs go out in the window, but no new ones "
        "are generated. Start one with:\n"
        f'  python manage.py crm campaign create --template warm-intro --name "Hello {platform}" '
        f"--platform {platform} --start\n"
    )


def platform_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "verb", choices=["show", "pause", "resume", "limits", "probe"], help="What to do."
    )
    parser.add_argument("--platform", default="", help="The platform (all for show).")
    parser.add_argument("--account", default="", help="Account handle (default: the host's).")
    parser.add_argument(
        "--kind", default="dm", choices=["dm", "comment"], help="Which limits: dm or comment."
    )
    parser.add_argument("--reason", default="", help="Why (pause).")
    parser.add_argument("--hourly", type=int, help="Hourly cap (limits).")
    parser.add_argument("--daily", type=int, help="Daily cap (limits).")
    parser.add_argument("--min-gap", dest="min_gap", type=int, help="Minimum gap, seconds.")
    parser.add_argument("--max-gap", dest="max_gap", type=int, help="Maximum gap, seconds.")
    parser.add_argument("--timezone", help="The account's time zone (limits).")
    parser.add_argument(
        "--clear-cooldown", dest="clear_cooldown", action="store_true", help="End a cooldown."
    )
    parser.add_argument("--json", action="store_true", help="Print JSON (show).")


def _line(item: dict[str, Any]) -> str:
    ready = "READY" if item["isReady"] else "UNCHECKED" if not item.get("checked") else "WAITING"
    lim = item["limits"]
    return (
        f"{item['platform']:<9} {item['account']}@{item['safariHost']} {item['action']:<7} "
        f"{ready:<7} logged in: {item['isLoggedIn']}  hour {item['messagesThisHour']}/"
        f"{lim['hourly']}  today {item['messagesToday']} (24h {item['messagesLast24h']}/"
        f"{lim['daily']})  window {item['activeHours']['start']}-{item['activeHours']['end']} "
        f"{item['activeHours']['timezone']}  automation "
        f"{'on' if item['automation'] else 'off'}"
        + (f"  — {item['waitReason']}" if item["waitReason"] else "")
    )


def platform_handle(options: dict[str, Any], stdout: Writer) -> None:
    verb, platform = options["verb"], options.get("platform") or ""
    if verb == "show":
        items = selectors.platforms_status()
        if platform:
            items = [i for i in items if i["platform"] == platform]
        if options.get("json"):
            stdout.write(json.dumps(items, default=str, indent=2) + "\n")
        for item in [] if options.get("json") else items:
            stdout.write(_line(item) + "\n")
        return
    if not platform:
        raise CommandError(f"`platform {verb}` needs --platform")
    account = account_get_or_create(platform=platform, handle=options.get("account") or "")
    action = options.get("kind") or "dm"
    if verb == "probe":
        task = services.probe_schedule(account=account, action=action, at=timezone.now())
        stdout.write(f"Probe queued: task {task.pk}\n")
        return
    services.account_update(
        account=account,
        action=action,
        hourly_cap=options.get("hourly"),
        daily_cap=options.get("daily"),
        min_gap_seconds=options.get("min_gap"),
        max_gap_seconds=options.get("max_gap"),
        tz=options.get("timezone"),
        clear_cooldown=bool(options.get("clear_cooldown")),
        paused={"pause": True, "resume": False}.get(verb),
        pause_reason=options.get("reason") or "",
    )
    stdout.write(_line(selectors.account_status(account, action=action)) + "\n")
