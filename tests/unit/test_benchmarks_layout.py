"""Benchmarks live beside the apps, never inside one, and coverage measures the product only."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

from safari_auto.management.commands.bench import BENCHES

ROOT = Path(__file__).resolve().parents[2]
APPS = ("safari_auto", "scheduler", "dm", "crm", "sora", "dashboard")


def test_no_app_package_holds_a_benchmark_module():
    strays = [
        str(path.relative_to(ROOT))
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if path.stem == "bench" and "management" not in path.parts
    ]
    assert strays == []


def test_every_benchmark_the_command_offers_is_a_module_of_the_benchmarks_package():
    assert sorted(BENCHES) == ["crm", "dashboard", "dm", "hosts", "recovery", "scheduler"]
    for name, module_name in BENCHES.items():
        assert module_name == f"benchmarks.{name}"
        assert callable(importlib.import_module(module_name).run)


def test_coverage_measures_the_apps_and_neither_benchmarks_nor_the_harness():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    source = config["tool"]["coverage"]["run"]["source"]
    assert sorted(source) == sorted(APPS)
    linted = config["tool"]["importlinter"]["root_packages"]
    assert {"benchmarks", "harness"} <= set(linted)
