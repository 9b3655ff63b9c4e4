"""Start with the Mac: launchd agents (macOS) or systemd user units (Linux) for this checkout.

`manage.py scheduler install-service` writes one agent or unit per process (web, workers,
dispatcher), each running from this checkout's folder with this Python, loading `.env` when it
exists, started at login and restarted after a crash. `uninstall-service` removes them. The
rendering here is pure (paths in, file texts out); the command writes, loads and unloads.
"""

from __future__ import annotations

import plistlib
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

LABEL_PREFIX = "com.safari-auto"


@dataclass(frozen=True)
class Process:
    name: str
    args: tuple[str, ...]
    description: str


def processes(*, python: str, host: str, port: int) -> list[Process]:
    """The three long-running processes. The dispatcher keeps a user's stop or pause: a
    restart after a crash or at login must not lift what the user asked for."""
    return [
        Process(
            "web",
            (python, "-m", "daphne", "-b", host, "-p", str(port), "safari_auto.asgi:application"),
            "Safari Auto web: dashboard, admin, API, websockets",
        ),
        Process(
            "workers",
            (python, "manage.py", "workers"),
            "Safari Auto workers (django-q2, supervised)",
        ),
        Process(
            "dispatcher",
            (python, "manage.py", "scheduler", "start", "--keep-paused"),
            "Safari Auto dispatcher",
        ),
    ]


def shell_line(process: Process) -> str:
    """Load `.env` (when present) into the environment, then exec the process."""
    command = " ".join(shlex.quote(arg) for arg in process.args)
    return f"set -a; [ -f .env ] && . ./.env; set +a; exec {command}"


def label(process: Process) -> str:
    return f"{LABEL_PREFIX}.{process.name}"


def launchd_plist(process: Process, *, root: Path, logs: Path) -> bytes:
    document = {
        "Label": label(process),
        "ProgramArguments": ["/bin/sh", "-c", shell_line(process)],
        "WorkingDirectory": str(root),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},  # restart after a crash, not after a clean stop
        "ThrottleInterval": 10,
        "ProcessType": "Interactive",  # it drives the logged-in Safari
        "StandardOutPath": str(logs / f"{process.name}.log"),
        "StandardErrorPath": str(logs / f"{process.name}.log"),
    }
    return plistlib.dumps(document)


def systemd_unit(process: Process, *, root: Path) -> str:
    return "\n".join(
        [
            "[Unit]",
            f"Description={process.description}",
            "After=network.target",
            "",
            "[Service]",
            "Type=simple",
            f"WorkingDirectory={root}",
            f"ExecStart=/bin/sh -c {shlex.quote(shell_line(process))}",
            "Restart=on-failure",
            "RestartSec=5",
            "KillMode=control-group",
            "TimeoutStopSec=30",
            "",
            "[Install]",
            "WantedBy=default.target",
            "",
        ]
    )


def default_kind() -> str:
    return "launchd" if sys.platform == "darwin" else "systemd"


def default_directory(kind: str) -> Path:
    home = Path.home()
    if kind == "launchd":
        return home / "Library" / "LaunchAgents"
    return home / ".config" / "systemd" / "user"


def file_name(process: Process, kind: str) -> str:
    if kind == "launchd":
        return f"{label(process)}.plist"
    return f"safari-auto-{process.name}.service"


def render(kind: str, process: Process, *, root: Path, logs: Path) -> bytes:
    if kind == "launchd":
        return launchd_plist(process, root=root, logs=logs)
    return systemd_unit(process, root=root).encode()


def load_commands(kind: str, path: Path, process: Process) -> list[list[str]]:
    """What to run after writing a file, so it starts now and at every login."""
    if kind == "launchd":
        return [["launchctl", "load", "-w", str(path)]]
    unit = path.name
    return [
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "--now", unit],
    ]


def unload_commands(kind: str, path: Path, process: Process) -> list[list[str]]:
    if kind == "launchd":
        return [["launchctl", "unload", "-w", str(path)]]
    return [["systemctl", "--user", "disable", "--now", path.name]]
