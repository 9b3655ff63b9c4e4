"""The Sora resource probe: the `sora:credits`, `sora:admission` and `sora:slots` gates, from
stored state only.

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
ADMISSION = "sora:admission"
SLOTS = "sora:slots"


def credits_gate(now: datetime) -> Gate:
    """`sora:credits`: what a credit-gated part may take, its own trilogy's reservation
    counted as its own when it is back at the gate (see `credit_gates`)."""
    return credit_gates(now, {CREDITS})[CREDITS]


def credit_gates(now: datetime, wanted: set[str]) -> dict[str, Gate]:
    """The two credit gates. `sora:admission` is the credits no trilogy holds: a trilogy not
    yet admitted needs its credits there. `sora:credits` adds what the admitted trilogies
    whose credit-gated part is back at the gate (a retry, a resubmit) hold: every
    credit-gated part needs its credits there, so a trilogy's own reservation covers its own
    part, and the planner's running total keeps two trilogies from taking the same credits."""
    state = selectors.credit_state(now=now)
    if state.available is None:
        reason = "credits unknown — checking"
        if state.snapshot is not None and estimation.awaiting_first_command(state.snapshot.raw):
            reason = (
                "credits unknown: the Sora service reports usage only after a first "
                "generation has run on it"
            )
        return dict.fromkeys(wanted & {CREDITS, ADMISSION}, Gate(available=0, reason=reason))
    needs = selectors.credits_needed_by_head()
    gates: dict[str, Gate] = {}
    if ADMISSION in wanted:
        gates[ADMISSION] = _gate(state.available, state.estimate, needs, now)
    if CREDITS in wanted:
        held = selectors.credits_held_at_gate(as_of=state.basis_at, now=now)
        gates[CREDITS] = _gate(state.available + held, state.estimate, needs, now)
    return gates


def _gate(free: int, estimate: datetime | None, needs: int | None, now: datetime) -> Gate:
    reason = estimation.credits_reason(
        needs=needs, free=free, estimate=estimate, tz=timezone.get_current_timezone()
    )
    # `ready_at` closes the gate for every amount, so only when nothing at all is left.
    ready_at = estimate if free <= 0 else None
    if ready_at is not None and ready_at <= now:
        ready_at = None
    return Gate(available=free, ready_at=ready_at, reason=reason)


def slots_gate() -> Gate:
    free = selectors.SLOT_CAPACITY - selectors.slots_in_use()
    reason = f"all {selectors.SLOT_CAPACITY} Sora generation slots are busy"
    return Gate(available=free, reason=reason)


def probe(keys: Iterable[str], now: datetime) -> Mapping[str, Gate]:
    wanted = set(keys)
    gates: dict[str, Gate] = {}
    if wanted & {CREDITS, ADMISSION}:
        gates.update(credit_gates(now, wanted))
    if SLOTS in wanted:
        gates[SLOTS] = slots_gate()
    return gates


def video_needs(task: Task) -> dict[str, int]:
    """Every part holds a slot; the first part of a trilogy (a single video) also needs all
    its credits: free ones (`sora:admission`) until its trilogy is admitted, then its own
    reservation covers it (`sora:credits` only). Only a task that has run can have been
    admitted (admission happens in its first attempt), so the queue's waiting parts cost no
    query here."""
    needs = {SLOTS: 1}
    if task.req_sora_credits:
        amount = int(task.req_sora_credits)
        needs[CREDITS] = amount
        if not (task.attempt and selectors.run_admitted_for_task(task_id=task.pk)):
            needs[ADMISSION] = amount
    return needs
