"""`scheduler install-service` / `uninstall-service`: the files it writes start this checkout."""

import configparser
import plistlib
import shlex
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

ROLES = ("web", "workers", "dispatcher")


def run(*args):
    out = StringIO()
    call_command("scheduler", *args, stdout=out)
    return out.getvalue()


def test_launchd_agents_run_this_checkout_at_login_and_restart_after_a_crash(tmp_path):
    out = run("install-service", "--kind", "launchd", "--dir", str(tmp_path), "--no-load")
    for role in ROLES:
        path = tmp_path / f"com.safari-auto.{role}.plist"
        assert str(path) in out
        agent = plistlib.loads(path.read_bytes())
        assert agent["Label"] == f"com.safari-auto.{role}"
        assert agent["WorkingDirectory"] == str(settings.BASE_DIR)
        assert agent["RunAtLoad"] is True
        assert agent["KeepAlive"] == {"SuccessfulExit": False}
        program = agent["ProgramArguments"]
        assert program[:2] == ["/bin/sh", "-c"]
        assert sys.executable in program[2]
        assert ". ./.env" in program[2]
    dispatcher = plistlib.loads((tmp_path / "com.safari-auto.dispatcher.plist").read_bytes())
    assert "scheduler start --keep-paused" in dispatcher["ProgramArguments"][2]
    web = plistlib.loads((tmp_path / "com.safari-auto.web.plist").read_bytes())
    assert "safari_auto.asgi:application" in web["ProgramArguments"][2]


def test_systemd_units_are_valid_and_their_command_starts_a_process(tmp_path):
    run(
        "install-service",
        "--kind",
        "systemd",
        "--dir",
        str(tmp_path),
        "--no-load",
        "--port",
        "3999",
    )
    for role in ROLES:
        unit = configparser.ConfigParser(interpolation=None)
        unit.read(tmp_path / f"safari-auto-{role}.service")
        assert unit["Service"]["Restart"] == "on-failure"
        assert unit["Service"]["WorkingDirectory"] == str(settings.BASE_DIR)
        assert unit["Install"]["WantedBy"] == "default.target"
    unit = configparser.ConfigParser(interpolation=None)
    unit.read(tmp_path / "safari-auto-dispatcher.service")
    exec_start = shlex.split(unit["Service"]["ExecStart"])
    assert exec_start[:2] == ["/bin/sh", "-c"]
    # The same line, with `help` instead of `start`, runs for real from the checkout's folder.
    line = exec_start[2].replace("scheduler start --keep-paused", "scheduler --help")
    done = subprocess.run(
        ["/bin/sh", "-c", line],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "install-service" in done.stdout


def test_uninstall_removes_what_install_wrote(tmp_path):
    run("install-service", "--kind", "systemd", "--dir", str(tmp_path), "--no-load")
    assert len(list(tmp_path.iterdir())) == 3
    out = run("uninstall-service", "--kind", "systemd", "--dir", str(tmp_path), "--no-load")
    assert "3 service file(s) removed" in out
    assert list(tmp_path.iterdir()) == []
    again = run("uninstall-service", "--kind", "systemd", "--dir", str(tmp_path), "--no-load")
    assert "Nothing was installed" in again


def test_a_bad_port_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="--port"):
        run("install-service", "--dir", str(tmp_path), "--no-load", "--port", "0")
    assert not Path(tmp_path).joinpath("safari-auto-web.service").exists()
