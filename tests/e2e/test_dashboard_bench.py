"""The dashboard benchmark runs end to end (small sizes; figures are not asserted here)."""

import io
import os
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_the_benchmark_measures_latency_and_page_load():
    if not Path("/usr/bin/chromium").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("/usr/bin/chromium is missing")
        pytest.skip("/usr/bin/chromium is missing: install Debian's chromium package")
    from benchmarks import dashboard as bench

    out = io.StringIO()
    figures = bench.run(stdout=out, options={"events": 10, "tasks": 300})
    latency = figures["sqlite"]["event_to_browser_latency"]
    assert latency["received"] == latency["events"] == 10
    assert latency["p50_ms"] <= latency["p95_ms"] <= latency["max_ms"]
    load = figures["sqlite"]["page_load"]
    assert load["paginated"] is True
    assert load["queued_tasks"] == 300
    assert "page load with 300 queued tasks" in out.getvalue()
    assert bench.pct([], 50) != bench.pct([], 50)  # NaN for no samples
