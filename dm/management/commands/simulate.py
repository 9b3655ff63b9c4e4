"""`python manage.py simulate`: serve the automation services' contracts on the demo ports.

Starts the DM and comment simulators (Instagram 4001, TikTok 4002, X 4003, comments
4004-4007) in the `--profile` given (`real` by default, or `SIM_PROFILE`) and any other app's
simulators found by convention (`sora.simulator.build_servers`, looked up at run time so `dm`
never imports `sora`). Runs until SIGTERM or SIGINT, then stops every server and exits 0.
`--demo` plays the demo scenario (`dm.simulator.demo`, and each app's `build_demo_servers`):
replies, one rate-limited platform, Sora credits coming back.
"""

from __future__ import annotations

import importlib
import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from dm.simulator import build_servers
from dm.simulator.demo import demo_options, demo_setup
from dm.simulator.registry import SERVICES

PROFILES = ("real", "kind")
# Other apps' simulator modules, each with `build_servers(host=, port_offset=)`.
EXTRA_SIMULATORS = ("sora.simulator",)


class Command(BaseCommand):
    help = "Run the simulated DM, comment (and Sora) services on the demo ports until stopped."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default="127.0.0.1", help="Address to listen on (default 127.0.0.1)."
        )
        parser.add_argument(
            "--only",
            default="",
            help="Comma-separated services to run: a platform (instagram, tiktok, twitter, "
            "threads), a kind (dm, comments, sora) or a key (instagram_dm). Default: all.",
        )
        parser.add_argument(
            "--port-offset",
            type=int,
            default=getattr(settings, "SIM_PORT_OFFSET", 1000),
            help="Added to each real service port (default 1000: Instagram DM on 4001).",
        )
        parser.add_argument(
            "--profile",
            choices=PROFILES,
            default=getattr(settings, "SIM_PROFILE", "real") or "real",
            help="How the DM simulators behave: 'real' (default, also SIM_PROFILE) as the real "
            "services do (slow sends on a busy tab, broken X reads, CONTRACTS.md 'How the real "
            "services behave'); 'kind' answers at once and reads back faithfully (quick demos).",
        )
        parser.add_argument(
            "--reply-probability",
            type=float,
            default=0.3,
            help="Odds that a simulated contact replies to a delivered DM (default 0.3).",
        )
        parser.add_argument(
            "--demo",
            action="store_true",
            help="The demo scenario (what `make run` starts): contacts reply a few seconds after "
            "each DM, Instagram's first send is refused with a 429, Sora has no credits until a "
            "refresh three minutes after start.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        only = [name.strip() for name in options["only"].split(",") if name.strip()]
        self._check_names(only)
        demo = bool(options["demo"])
        replies = {"reply_probability": options["reply_probability"]}
        if demo:
            replies = demo_options(time_scale=float(settings.SIM_TIME_SCALE or 1.0))
        servers: list[Any] = build_servers(
            options["host"],
            options["port_offset"],
            only=only or None,
            seed=True,
            profile=options["profile"],
            **replies,
        )
        if demo:
            demo_setup(servers)
        if not only or "sora" in only:
            servers += self._extra_servers(options["host"], options["port_offset"], demo=demo)
        stop = threading.Event()
        self._on_signals(stop)
        started = self._start(servers)
        try:
            stop.wait()
        finally:
            for server in reversed(started):
                server.stop()
            self.stdout.write("simulators stopped")

    def _check_names(self, only: list[str]) -> None:
        known = {"dm", "comments", "sora"}
        for cls in SERVICES:
            known |= {cls.key, cls.platform}
        unknown = sorted(set(only) - known)
        if unknown:
            raise CommandError(f"unknown service(s): {', '.join(unknown)}")

    def _extra_servers(self, host: str, port_offset: int, *, demo: bool = False) -> list[Any]:
        servers: list[Any] = []
        for module_name in EXTRA_SIMULATORS:
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                continue
            build = getattr(module, "build_demo_servers" if demo else "build_servers", None)
            if callable(build):
                servers += list(build(host=host, port_offset=port_offset))
        return servers

    def _start(self, servers: list[Any]) -> list[Any]:
        started = []
        try:
            for server in servers:
                server.start()
                started.append(server)
                name = getattr(server, "name", type(server).__name__)
                self.stdout.write(f"{name:<20} listening on {getattr(server, 'url', '?')}")
        except OSError as exc:
            for server in reversed(started):
                server.stop()
            raise CommandError(f"cannot listen: {exc}") from exc
        self.stdout.write(f"{len(started)} simulators running; Ctrl-C or SIGTERM stops them")
        self.stdout.flush()
        return started

    def _on_signals(self, stop: threading.Event) -> None:
        def handler(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
