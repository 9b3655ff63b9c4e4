"""Demo mode cannot reach a real service: every URL is its simulator's, or start-up fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from safari_auto.demo import SERVICES, real_services, service_urls, simulator_url

ROOT = Path(__file__).resolve().parents[2]


def test_demo_points_every_service_at_its_simulator():
    urls = service_urls({}, demo=True)
    assert urls["tiktok_dm"] == "http://127.0.0.1:4002"
    assert urls["sora"] == "http://127.0.0.1:8070"
    assert real_services(urls) == []


def test_demo_refuses_a_variable_that_names_a_real_service():
    with pytest.raises(ImproperlyConfigured, match=r"TIKTOK_DM_URL points at 127\.0\.0\.1:3002"):
        service_urls({"TIKTOK_DM_URL": "http://127.0.0.1:3002"}, demo=True)


@pytest.mark.parametrize(
    "url", ["http://studio.local:4002", "https://127.0.0.1:4002", "http://127.0.0.1:4003"]
)
def test_demo_refuses_another_host_scheme_or_port(url):
    with pytest.raises(ImproperlyConfigured, match="TIKTOK_DM_URL"):
        service_urls({"TIKTOK_DM_URL": url}, demo=True)


def test_demo_accepts_the_simulator_spelled_another_way():
    assert service_urls({"TIKTOK_DM_URL": "http://localhost:4002/"}, demo=True)["tiktok_dm"]


def test_without_demo_empty_variables_mean_the_real_ports():
    urls = service_urls({"SORA_URL": "http://mac.local:7070"}, demo=False)
    assert urls["instagram_dm"] == "http://127.0.0.1:3001"
    assert urls["sora"] == "http://mac.local:7070"
    assert sorted(real_services(urls)) == sorted(SERVICES)


def _env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            name, _, rest = line.partition("=")
            values[name.strip()] = rest.split("#", 1)[0].strip()
    return values


def _settings_in_subprocess(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(sorted(settings.SERVICE_URLS.values()))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "safari_auto.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_env_copied_from_the_example_runs_the_demo_on_simulators_only():
    env = {**_env_example(), "DEMO": "1"}
    done = _settings_in_subprocess(env)
    assert done.returncode == 0, done.stderr
    for key in SERVICES:
        assert simulator_url(key) in done.stdout


def test_the_process_refuses_to_start_when_demo_would_reach_a_real_service():
    done = _settings_in_subprocess({"DEMO": "1", "TIKTOK_DM_URL": "http://127.0.0.1:3002"})
    assert done.returncode != 0
    assert "DEMO=1 but TIKTOK_DM_URL points at 127.0.0.1:3002" in done.stderr
