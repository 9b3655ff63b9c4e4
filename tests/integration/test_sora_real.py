"""Sora against the simulator's `real` profile (CONTRACTS.md "How the real services behave",
Sora): the character travels inside the prompt, `duration` is a string, usage is -1 until a
first command has run and never carries free/paid, and our credit logic copes with all that."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from scheduler.dispatcher import Dispatcher
from scheduler.models import Task
from sora import client, estimation, gates, selectors, services
from sora.cli import credit_lines
from sora.models import Trilogy
from sora.simulator import SoraSimulator
from tests.sora_fixtures import claim_and_run, sim_state

pytestmark = pytest.mark.django_db


def _wait_for(command_id: str, status: str) -> client.Command:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        command = client.command(command_id)
        assert command is not None
        if command.finished:
            assert command.status == status, command.error
            return command
        time.sleep(0.02)
    raise AssertionError(f"{command_id} never finished")


def client_submit(prompt: str) -> client.Command:
    return client.submit(prompt=prompt)


def _check_credits() -> None:
    check = services.credit_check_ensure(now=timezone.now(), due_now=True, reason="test")
    assert check is not None
    assert claim_and_run(check.pk) == "completed"


def test_the_trilogy_character_reaches_the_service_inside_the_prompt(
    sora_real: SoraSimulator, sample_trilogies: list[str]
) -> None:
    queued = services.trilogy_queue(slug="first_contact")
    character = Trilogy.objects.get(slug="first_contact").character
    assert character
    assert client.ready() == (False, "no command has run yet")  # and the part is not held by it

    assert claim_and_run(queued.task_ids[0]) == "completed"

    [command] = sim_state(sora_real)["commands"]
    assert "character" not in command["payload"]  # the service would ignore it
    assert character in command["payload"]["prompt"]
    assert command["status"] == "SUCCEEDED"


def test_a_duration_reaches_the_service_as_a_string_and_the_video_is_made(
    sora_real: SoraSimulator,
) -> None:
    command = client.submit(prompt="a red fox at dawn", duration=10)

    done = _wait_for(command.id, "SUCCEEDED")

    assert done.raw["payload"]["duration"] == "10s"
    assert done.video_path.endswith(".mp4")


def test_before_the_first_command_credits_are_unknown_never_zero(sora_real: SoraSimulator) -> None:
    _check_credits()

    latest = selectors.snapshot_latest()
    assert latest is not None
    assert (latest.remaining, latest.total) == (None, None)
    summary = selectors.credits_summary(now=timezone.now())["credits"]
    assert summary["totalCredits"] is None  # type: ignore[index]
    assert summary["known"] is False  # type: ignore[index]
    gate = gates.credits_gate(timezone.now())
    assert "unknown" in gate.reason


def test_after_a_command_the_total_is_known_the_split_unknown_and_the_gate_opens(
    sora_real: SoraSimulator, sample_trilogies: list[str]
) -> None:
    _wait_for(client.submit(prompt="warm-up").id, "SUCCEEDED")  # usage answers from now on
    _check_credits()

    summary = selectors.credits_summary(now=timezone.now())["credits"]
    assert (summary["totalCredits"], summary["remainingCredits"]) == (4, 4)  # type: ignore[index]
    assert (summary["freeCredits"], summary["paidCredits"]) == (None, None)  # type: ignore[index]
    assert any("the split into free and paid is unknown" in line for line in credit_lines())
    gate = gates.credits_gate(timezone.now())
    assert gate.available == 4
    queued = services.trilogy_queue(slug="first_contact")
    assert claim_and_run(queued.task_ids[0]) == "completed"
    assert selectors.credit_state(now=timezone.now()).available == 1  # 4 - 3 reserved/spent


def test_the_dashboard_shows_the_known_total_beside_an_unknown_split(
    sora_real: SoraSimulator, client: Any, staff_user: Any
) -> None:
    _wait_for(client_submit("warm-up").id, "SUCCEEDED")
    _check_credits()
    client.force_login(staff_user)

    html = client.get("/").content.decode()

    assert 'data-credit="total">4<' in html
    assert "the split into free and paid is unknown" in html


def test_after_the_service_restarts_the_last_known_reading_still_admits_a_trilogy(
    sora_real: SoraSimulator, sample_trilogies: list[str], run_on_commit: Any
) -> None:
    earlier = timezone.now() - timedelta(hours=2)
    services.snapshot_record(reading=estimation.Reading(remaining=5), now=earlier)
    _check_credits()  # the restarted service: -1 and "no usage data" until a command runs
    queued = services.trilogy_queue(slug="first_contact")

    run_on_commit(Dispatcher(name="test").cycle, None)

    latest = selectors.snapshot_latest()
    assert latest is not None
    assert latest.remaining is None  # stored as the service said: unknown, never 0
    assert selectors.credit_state(now=timezone.now()).available == 2  # 5 - the 3 reserved
    first = Task.objects.get(pk=queued.task_ids[0])
    assert first.status != "pending", first.wait_reason


def test_with_no_reading_ever_the_wait_says_the_service_needs_a_first_generation(
    sora_real: SoraSimulator,
) -> None:
    _check_credits()

    gate = gates.credits_gate(timezone.now())

    assert gate.available == 0
    assert "first generation" in gate.reason
