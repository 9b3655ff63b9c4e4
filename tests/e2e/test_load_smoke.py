"""The load suite's fast part: 10 API clients for 10 s against the system on SQLite.

It asserts correctness, not speed (the machine may be busy): no request failed, nothing said
'database is locked' (in an answer or in any process's log), and every task a client created
is stored and ran. The full run is `make load` (docs/RELIABILITY.md).
"""

import io

import pytest

from benchmarks import load

pytestmark = pytest.mark.e2e


def test_ten_clients_for_ten_seconds_see_no_error_and_no_lock_and_lose_no_task():
    out = io.StringIO()
    options = {"clients": 10, "seconds": 10, "warmup": 2, "pace": 0.5, "drain": 90}
    result = load.run_profile("sqlite", options, out)
    assert result["read"]["requests"] > 50, result
    assert result["create"]["requests"] > 10, result
    assert result["all"]["errors"] == 0, result["all"]["error_samples"]
    assert result["all"]["database_is_locked"] == 0, result
    assert sum(result["log_database_is_locked"].values()) == 0, result
    assert result["tasks"]["created"] >= result["create"]["requests"]  # warm-up too
    assert result["tasks"]["missing"] == 0, result["tasks"]
    assert result["tasks"]["unfinished"] == 0, result["tasks"]
    assert result["tasks"]["unreported"] == 0, result["tasks"]
