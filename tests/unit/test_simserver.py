"""The one HTTP server both simulators (DM/comments and Sora) run in."""

import time

import pytest
import requests

from dm.simulator.server import SimServer
from safari_auto.simserver import DROP, JsonServer, Reply, Request
from sora.simulator import SoraSimulator


def _echo(request: Request) -> Reply:
    if request.path == "/drop":
        return DROP
    return Reply(
        201,
        {
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "body": request.body,
            "key": request.headers.get("x-key"),
        },
        headers={"X-Sim": "yes"},
    )


@pytest.fixture
def server():
    running = JsonServer(_echo, name="echo").start()
    yield running
    running.stop()


def test_a_request_is_parsed_and_the_reply_written_as_json(server):
    answer = requests.post(
        f"{server.url}/v1/x?a=1&a=2", json={"n": 1}, headers={"X-Key": "k"}, timeout=5
    )
    assert answer.status_code == 201
    assert answer.headers["X-Sim"] == "yes"
    assert answer.json() == {
        "method": "POST",
        "path": "/v1/x",
        "query": {"a": "2"},
        "body": {"n": 1},
        "key": "k",
    }
    assert requests.delete(f"{server.url}/y", data=b"{not json", timeout=5).json()["body"] is None


def test_drop_closes_the_socket_without_an_answer(server):
    with pytest.raises(requests.ConnectionError):
        requests.post(f"{server.url}/drop", json={}, timeout=5)
    assert requests.get(f"{server.url}/after", timeout=5).status_code == 201


def test_an_outage_refuses_connections_then_listens_again(server):
    server.outage(0.5)
    time.sleep(0.2)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.url}/x", timeout=5)
    time.sleep(0.8)
    assert requests.get(f"{server.url}/x", timeout=5).status_code == 201


def test_a_port_in_use_is_an_error_at_start(server):
    with pytest.raises(OSError, match="in use"):
        JsonServer(_echo, name="second", port=server.port).start()


def test_both_simulators_are_served_by_it():
    assert issubclass(SimServer, JsonServer)
    sora = SoraSimulator(port=0, profile="kind").start()
    try:
        assert isinstance(sora, JsonServer)
        assert requests.get(f"{sora.url}/ready", timeout=5).json() == {"ready": True}
    finally:
        sora.stop()
