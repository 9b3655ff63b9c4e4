"""A package the dispatcher on one host enqueues for another host's cluster is readable there:
django-q2 signs packages with its cluster name, so that name is one for the whole site and only
the queue (`cluster_name`) is per host."""

from __future__ import annotations

import os
import subprocess
import sys

from harness import ROOT

SETUP = (
    "import sys, django; django.setup(); "
    "from django_q.conf import Conf; from django_q.signing import SignedPackage; "
    "print(Conf.CLUSTER_NAME); "
)
DUMP = SETUP + "print(SignedPackage.dumps({'args': (7, 1)}))"
LOAD = SETUP + "print(SignedPackage.loads(sys.argv[1])['args'])"


def run_as(host: str, code: str, *args: str, tmp_path) -> list[str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "safari_auto.settings",
        "DATA_DIR": str(tmp_path),
        "SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "SAFARI_ENV": "development",
        "SAFARI_HOSTS": "studio,laptop",
        "SAFARI_HOST": host,
        "Q_CLUSTER_PREFIX": "site",
    }
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()


def test_a_package_signed_on_studio_is_read_by_laptops_cluster(tmp_path):
    queue, package = run_as("studio", DUMP, tmp_path=tmp_path)
    assert queue == "site-studio"
    queue, args = run_as("laptop", LOAD, package, tmp_path=tmp_path)
    assert (queue, args) == ("site-laptop", "(7, 1)")
