"""`manage.py scheduler install-service | uninstall-service`: start with the Mac (or Linux)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError

from scheduler import service_files as files

INSTALL_HELP = "Write launchd agents (macOS) or systemd user units (Linux) and start them."
UNINSTALL_HELP = "Stop and remove the agents or units that install-service wrote."


def arguments(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--kind",
        choices=["launchd", "systemd"],
        default=files.default_kind(),
        help="launchd on macOS, systemd user units elsewhere (default: this system's).",
    )
    parser.add_argument(
        "--dir",
        default="",
        help="Where the files go (default: ~/Library/LaunchAgents or ~/.config/systemd/user).",
    )
    parser.add_argument(
        "--no-load",
        action="store_true",
        help="Only write or remove the files; do not call launchctl or systemctl.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="Web address (default 127.0.0.1).")
    parser.add_argument("--port", type=int, default=3010, help="Web port (default 3010).")


def _plan(options: dict[str, Any]) -> tuple[str, Path, list[files.Process]]:
    kind = options["kind"]
    directory = (
        Path(options["dir"]).expanduser() if options["dir"] else files.default_directory(kind)
    )
    if not 1 <= options["port"] <= 65535:
        raise CommandError("--port must be between 1 and 65535")
    procs = files.processes(python=sys.executable, host=options["host"], port=options["port"])
    return kind, directory, procs


def _run(commands: list[list[str]], out: Any) -> None:
    for command in commands:
        if shutil.which(command[0]) is None:
            out.write(f"  {command[0]} not found; run it yourself: {' '.join(command)}")
            return
        # launchctl or systemctl with paths we wrote ourselves; nothing comes from a client
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=30)  # noqa: S603
        if done.returncode != 0:
            out.write(f"  `{' '.join(command)}` said: {(done.stderr or done.stdout).strip()}")


def install(options: dict[str, Any], out: Any) -> None:
    kind, directory, procs = _plan(options)
    root = Path(settings.BASE_DIR)
    logs = Path(settings.DATA_DIR) / "logs"
    directory.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True, mode=0o700)
    for process in procs:
        path = directory / files.file_name(process, kind)
        path.write_bytes(files.render(kind, process, root=root, logs=logs))
        out.write(f"Wrote {path} ({process.description})")
        if not options["no_load"]:
            _run(files.load_commands(kind, path, process), out)
    out.write(
        f"Safari Auto starts at login from {root}; logs in {logs}. "
        "Remove with `python manage.py scheduler uninstall-service`."
    )


def uninstall(options: dict[str, Any], out: Any) -> None:
    kind, directory, procs = _plan(options)
    removed = 0
    for process in procs:
        path = directory / files.file_name(process, kind)
        if not path.exists():
            continue
        if not options["no_load"]:
            _run(files.unload_commands(kind, path, process), out)
        path.unlink()
        removed += 1
        out.write(f"Removed {path}")
    if kind == "systemd" and removed and not options["no_load"]:
        _run([["systemctl", "--user", "daemon-reload"]], out)
    out.write(f"{removed} service file(s) removed." if removed else "Nothing was installed.")
