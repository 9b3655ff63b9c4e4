"""The load suite's clients count what went wrong: a 500, a refused connection, an answer that
mentions 'database is locked' (whatever its status), and time every request."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from benchmarks import load
from benchmarks.loadclients import LOCKED, figures, run_clients


class Service(BaseHTTPRequestHandler):
    """Creates answer 201 with a task id; every third read answers 500, every fifth 200 with
    'database is locked' in its body."""

    reads = itertools.count(1)
    ids = itertools.count(1)

    def log_message(self, *args: object) -> None:
        """Quiet: the test reads the clients' counts, not the server's log."""

    def _answer(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        n = next(self.reads)
        if n % 3 == 0:
            self._answer(500, {"success": False, "error": "boom"})
        elif n % 5 == 0:
            self._answer(200, {"queue": [], "note": LOCKED.upper()})
        else:
            self._answer(200, {"queue": [], "running": [], "total": 0})

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        assert self.headers["Authorization"] == "Token t0k"
        self._answer(201, {"success": True, "taskId": str(next(self.ids)), "name": body["name"]})


@pytest.fixture
def service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_errors_and_locked_answers_are_counted_per_class(service):
    tally = run_clients(
        base=service, token="t0k", clients=4, seconds=1.5, pace=0.05, create_share=0.3
    )
    result = figures(tally, since=0, seconds=1.5)
    reads = [s for s in tally.samples if s.kind == "read"]
    assert len(reads) >= 10
    failed = [s for s in reads if s.status == 500]
    assert failed
    assert result["read"]["errors"] == len(failed)
    assert result["read"]["database_is_locked"] == sum(1 for s in reads if s.locked) > 0
    assert result["create"]["errors"] == 0
    assert result["create"]["requests"] == len(tally.created_ids) > 0
    assert result["all"]["errors"] == result["read"]["errors"]
    assert "500" in result["read"]["error_samples"][0]
    assert result["read"]["p50_ms"] <= result["read"]["p99_ms"] <= result["read"]["max_ms"]


def test_a_refused_connection_is_an_error():
    tally = run_clients(base="http://127.0.0.1:9", token="t", clients=2, seconds=0.5, pace=0.1)
    result = figures(tally, since=0, seconds=0.5)
    assert result["all"]["requests"] > 0
    assert result["all"]["errors"] == result["all"]["requests"]


def test_the_checks_name_each_target_and_fail_on_any_error_or_lock():
    clean = {"errors": 0, "database_is_locked": 0, "p95_ms": 100.0, "p99_ms": 200.0}
    result = {
        "read": dict(clean),
        "create": dict(clean, p95_ms=350.0),
        "all": dict(clean),
        "tasks": {"missing": 0, "unfinished": 0},
        "log_database_is_locked": {"web": 0, "workers": 0},
    }
    assert load.checks("sqlite", result) == {
        "0 errors": True,
        "0 database is locked": True,
        "every created task stored and finished": True,
        "create p95 <= 300 ms": False,
    }
    assert all(load.checks("scale", result).values())
    result["log_database_is_locked"]["workers"] = 1
    assert load.checks("scale", result)["0 database is locked"] is False


@pytest.mark.parametrize(
    "args",
    [("--clients", "0"), ("--seconds", "0"), ("--pace", "0"), ("--create-share", "1.5")],
)
def test_the_command_refuses_a_run_that_measures_nothing(args):
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="must be"):
        call_command("load", *args)
