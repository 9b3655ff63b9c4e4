"""The demo scenario of the DM simulators (`manage.py simulate --demo`, what `make run` starts).

Two things happen within the first minute, through the services' ordinary answers:

- every contact answers a DM a few seconds after it is delivered (`schedule_reply`), so the
  next inbox sync brings a reply into the CRM and the dashboard's inbox;
- Instagram refuses its first send with a 429 (with a retry time on the `kind` profile; the
  `real` one, like the real services, gives none and our cooldown decides), so the dashboard
  shows Instagram rate-limited, "resumes in …", while TikTok and X keep sending.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .server import SimServer
from .service import SimService

REPLY_AFTER_SECONDS = 5.0  # real seconds between a delivered DM and the contact's answer
RATE_LIMITED_PLATFORM = "instagram"
RETRY_AFTER_SECONDS = 600.0  # what the refused send says: come back in ten minutes


def demo_options(*, time_scale: float) -> dict[str, Any]:
    """The services' constructor options for the demo (they survive `/_sim/reset`)."""
    # The reply delay is in simulated seconds, which the time scale shrinks.
    return {"reply_probability": 1.0, "reply_delay_seconds": REPLY_AFTER_SECONDS * time_scale}


def demo_rate_limit(service: SimService) -> None:
    """The rate-limited platform answers its next send with a 429 carrying a retry time."""
    if service.platform == RATE_LIMITED_PLATFORM and service.key.endswith("_dm"):
        service.faults.update({"status_429": 1, "retry_after_s": RETRY_AFTER_SECONDS})


def demo_setup(servers: Iterable[SimServer]) -> None:
    """Apply the demo's faults to built (started or not) DM servers."""
    for server in servers:
        demo_rate_limit(server.service)
