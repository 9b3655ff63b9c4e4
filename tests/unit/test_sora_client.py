"""The Sora client against the simulator over real HTTP (no database)."""

from __future__ import annotations

import time

import pytest
import requests

from safari_auto.http import ServiceError
from sora import client
from sora.simulator import SoraSimulator, build_servers
from tests.sora_fixtures import sim_faults, sim_state


def _wait_for(sim: SoraSimulator, command_id: str, status: str) -> client.Command:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        command = client.command(command_id)
        assert command is not None
        if command.status == status:
            return command
        time.sleep(0.02)
    raise AssertionError(f"{command_id} never reached {status}")


def test_usage_reads_free_paid_and_the_refresh_time(sora_sim: SoraSimulator) -> None:
    reading, raw = client.usage()
    assert (reading.free, reading.paid, reading.remaining) == (5, 0, 5)
    assert reading.refreshes_at is not None
    assert raw["plan"] == "plus"
    assert client.ready() == (True, "")


def test_no_tab_reads_unknown_not_zero(sora_sim: SoraSimulator) -> None:
    sim_faults(sora_sim, no_tab=True)
    reading, _ = client.usage()
    assert reading.remaining is None
    ok, reason = client.ready()
    assert not ok
    assert "tab" in reason


def test_a_generation_goes_pending_running_succeeded_with_a_file(
    sora_sim: SoraSimulator,
) -> None:
    command = client.submit(prompt="a red fox", character="Kai", duration=10, aspect_ratio="16:9")
    assert command.status == "PENDING"
    done = _wait_for(sora_sim, command.id, "SUCCEEDED")
    assert done.video_path.endswith(".mp4")
    assert done.file_size
    assert done.file_size > 0
    with open(done.video_path, "rb") as file:
        assert len(file.read()) == done.file_size
    listed = client.recent_commands()
    assert [c.id for c in listed] == [command.id]
    assert listed[0].prompt == "a red fox\n\nCharacter: Kai"
    assert client.usage()[0].remaining == 4


def test_failures_on_demand_and_unknown_commands(sora_sim: SoraSimulator) -> None:
    sim_faults(sora_sim, fail_next=1)
    command = client.submit(prompt="doomed")
    failed = _wait_for(sora_sim, command.id, "FAILED")
    assert failed.error
    assert client.command("cmd_nope") is None


def test_at_most_three_generations_at_once_then_429(sora_sim: SoraSimulator) -> None:
    sim_faults(sora_sim, generation_seconds=10_000)
    for n in range(3):
        client.submit(prompt=f"p{n}")
    with pytest.raises(client.SoraRefused) as refused:
        client.submit(prompt="fourth")
    assert refused.value.limited
    assert sim_state(sora_sim)["generating"] == 3


def test_no_credits_and_the_daily_budget_refuse(sora_sim: SoraSimulator) -> None:
    sim_faults(sora_sim, set_credits={"free": 0, "paid": 0})
    with pytest.raises(client.SoraRefused, match="no credits"):
        client.submit(prompt="x")
    sim_faults(sora_sim, set_credits={"free": 3, "paid": 2}, daily_limit=0)
    with pytest.raises(client.SoraRefused, match="daily budget"):
        client.submit(prompt="x")
    sim_faults(sora_sim, reject_next=1, daily_limit=30)
    with pytest.raises(client.SoraRefused) as refused:
        client.submit(prompt="x")
    assert not refused.value.limited


def test_a_crash_after_202_creates_the_command_but_drops_the_answer(
    sora_sim: SoraSimulator,
) -> None:
    sim_faults(sora_sim, crash_after_202=1)
    with pytest.raises(ServiceError) as error:
        client.submit(prompt="lost answer")
    assert not error.value.permanent
    assert [c.prompt for c in client.recent_commands()] == ["lost answer"]


def test_credits_come_back_at_the_refresh_time(sora_sim: SoraSimulator) -> None:
    sim_faults(sora_sim, set_credits={"free": 0, "paid": 1})
    assert client.usage()[0].remaining == 1
    sim_faults(sora_sim, refreshes_at="2000-01-01T00:00:00+00:00")
    reading, _ = client.usage()
    assert (reading.free, reading.paid) == (5, 1)
    assert reading.refreshes_at is not None
    sim_faults(sora_sim, set_credits={"free": 1}, force_refresh=True)
    assert client.usage()[0].free == 5


def test_delete_cancels_only_while_pending(sora_sim: SoraSimulator) -> None:
    sim_faults(sora_sim, generation_seconds=10_000)
    command = client.submit(prompt="cancel me")
    assert client.cancel(command.id)
    assert not client.cancel(command.id)
    assert client.usage()[0].free == 5


def test_reset_and_unknown_routes(sora_sim: SoraSimulator) -> None:
    client.submit(prompt="x")
    requests.post(f"{sora_sim.url}/_sim/reset", json={}, timeout=5).raise_for_status()
    assert client.recent_commands() == []
    assert requests.get(f"{sora_sim.url}/nope", timeout=5).status_code == 404
    assert requests.post(f"{sora_sim.url}/nope", json={}, timeout=5).status_code == 404
    bad = requests.post(f"{sora_sim.url}/v1/commands", json={"type": "x"}, timeout=5)
    assert bad.status_code == 400


def test_a_service_that_is_down_is_a_retryable_error(settings: object) -> None:
    settings.SERVICE_URLS = {**settings.SERVICE_URLS, "sora": "http://127.0.0.1:9"}  # type: ignore[attr-defined]
    with pytest.raises(ServiceError) as error:
        client.usage()
    assert not error.value.permanent


def test_build_servers_serves_on_the_demo_port_offset() -> None:
    [server] = build_servers(port_offset=-7070, time_scale=1.0)  # port 0: any free port
    server.start()
    try:
        assert server.name == "sora"
        assert server.state.profile == "real"  # the real service's behaviour by default
        assert requests.get(f"http://127.0.0.1:{server.port}/ready", timeout=5).json() == {
            "ready": False,
            "reason": "no command has run yet",
        }
    finally:
        server.stop()


def test_a_port_in_use_fails_on_start_not_on_build(sora_sim: SoraSimulator) -> None:
    [clash] = build_servers(port_offset=sora_sim.port - 7070, time_scale=1.0)
    with pytest.raises(OSError):  # noqa: PT011 - the OS words it
        clash.start()
    clash.stop()


def test_build_servers_takes_the_profile_from_sim_profile(settings: object) -> None:
    settings.SIM_PROFILE = "kind"  # type: ignore[attr-defined]

    [kind] = build_servers(port_offset=-7070, time_scale=1.0)
    [real] = build_servers(port_offset=-7070, time_scale=1.0, profile="real")

    assert (kind.state.profile, real.state.profile) == ("kind", "real")
    kind.stop()
    real.stop()
