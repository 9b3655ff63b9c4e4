"""The Sora resource probe: the `sora:credits` and `sora:slots` gates, from stored state only.

Credits: the last reading's remaining minus reservations it did not see (the last known one
while the real service has no usage until its first command: `selectors.credit_basis`).
Unknown credits (-1, or no reading yet) close the gate with "credits unknown — checking", never
read as 0; a check is queued whenever a trilogy is queued while credits are unknown, and by the
check chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from django.utils import timezone

from scheduler.models import Task
from scheduler.planning import Gate
from sora import estimation, selectors

CREDITS = "sora:credits"
SLOTS = "sora:slots"


def credits_gate(now: datetime) -> Gate:
    state = selectors.credit_state(now=now)
    if state.available is None:
        reason = "credits unknown — checking"
        if state.snapshot is not None and estimation.awaiting_first_command(state.snapshot.raw):
            reason = (
                "credits unknown: the Sora service reports usage only after a first "
                "generation has run on it"
            )
        return Gate(available=0, reason=reason)
    reason = estimation.credits_reason(
        needs=selectors.credits_needed_by_head(),
        free=state.available,
        estimate=state.estimate,
        tz=timezone.get_current_timezone(),
    )
    # `ready_at` closes the gate for every amount, so only when nothing at all is left.
    ready_at = state.estimate if state.available <= 0 else None
    if ready_at is not None and ready_at <= now:
        ready_at = None
    return Gate(available=state.available, ready_at=ready_at, reason=reason)


def slots_gate() -> Gate:
    free = selectors.SLOT_CAPACITY - selectors.slots_in_use()
    reason = f"all {selectors.SLOT_CAPACITY} Sora generation slots are busy"
    return Gate(available=free, reason=reason)


def probe(keys: Iterable[str], now: datetime) -> Mapping[str, Gate]:
    wanted = set(keys)
    gates: dict[str, Gate] = {}
    if CREDITS in wanted:
        gates[CREDITS] = credits_gate(now)
    if SLOTS in wanted:
        gates[SLOTS] = slots_gate()
    return gates


def video_needs(task: Task) -> dict[str, int]:
    """Every part holds a slot; the first part of a trilogy also needs all its credits."""
    needs = {SLOTS: 1}
    if task.req_sora_credits:
        needs[CREDITS] = int(task.req_sora_credits)
    return needs
