"""`manage.py workers`: this Safari host's django-q2 clusters, supervised (scheduler.supervisor)."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from scheduler.hosts import HostTaken
from scheduler.supervisor import Supervisor


class Command(BaseCommand):
    help = (
        "Run the worker clusters of this Safari host (SAFARI_HOST) under a supervisor: "
        "SCHEDULER_RESERVED_WORKERS workers kept for Safari work and urgent tasks, and Q_WORKERS "
        "for ordinary work. It reports the host alive to the dispatcher, restarts clusters that "
        "die or freeze and stops them within SCHEDULER_STOP_GRACE_SECONDS on SIGTERM or Ctrl-C."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        supervisor = Supervisor(log=lambda line: self.stdout.write(line))

        def stop(signum: int, frame: FrameType | None) -> None:
            supervisor.stop_event.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        pools = ", ".join(f"{cluster.workers} {cluster.pool}" for cluster in supervisor.clusters)
        self.stdout.write(f"workers for host {settings.SAFARI_HOST}: {pools}, supervised")
        try:
            supervisor.run()
        except HostTaken as exc:
            raise CommandError(str(exc)) from None
