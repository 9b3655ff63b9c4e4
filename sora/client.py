"""The Sora service client: the only Sora HTTP code. It builds payloads and reads answers;
every call goes through `safari_auto.http.call`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings

from safari_auto.http import Answer, ServiceError, call
from safari_auto.times import parse_iso
from sora.estimation import Reading, parse_usage


class SoraRefused(Exception):
    """The service answered and created nothing (4xx). `limited` is a 429: try later."""

    def __init__(self, message: str, *, status: int, limited: bool) -> None:
        super().__init__(message)
        self.status = status
        self.limited = limited


@dataclass(frozen=True)
class Command:
    id: str
    status: str
    prompt: str = ""
    created_at: datetime | None = None
    video_path: str = ""
    file_size: int | None = None
    error: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status in ("SUCCEEDED", "FAILED")


def _base() -> str:
    return str(settings.SERVICE_URLS["sora"]).rstrip("/")


def _error_text(answer: Answer) -> str:
    return str(answer.get("error") or answer.get("reason") or f"HTTP {answer.status}")


def _command(body: Any) -> Command:
    if not isinstance(body, dict):
        raise ServiceError("Sora answered a command without a body", permanent=False, body=body)
    result = body.get("result") or {}
    payload = body.get("payload") or {}
    size = result.get("file_size") if isinstance(result, dict) else None
    return Command(
        id=str(body.get("id") or body.get("command_id") or ""),
        status=str(body.get("status") or "").upper(),
        prompt=str(payload.get("prompt") or "") if isinstance(payload, dict) else "",
        created_at=parse_iso(body.get("createdAt") or body.get("created_at")),
        video_path=str(result.get("video_path") or "") if isinstance(result, dict) else "",
        file_size=int(size) if isinstance(size, int | float) else None,
        error=str(body.get("error") or ""),
        raw=body,
    )


def _checked(answer: Answer, what: str) -> Answer:
    if answer.ok:
        return answer
    if answer.status == 503:
        raise ServiceError(
            f"Sora {what}: no tab or session ({_error_text(answer)})",
            permanent=False,
            status=503,
            body=answer.body,
        )
    raise ServiceError(
        f"Sora {what}: {_error_text(answer)}",
        permanent=answer.status < 500,
        status=answer.status,
        body=answer.body,
    )


def ready() -> tuple[bool, str]:
    answer = call("GET", f"{_base()}/ready", timeout=10)
    return bool(answer.get("ready")) and answer.ok, str(answer.get("reason") or "")


def usage() -> tuple[Reading, dict[str, Any]]:
    """Read credits. A 503 (no tab) is an unknown reading, not an error and never 0."""
    answer = call("GET", f"{_base()}/v1/sora/usage", timeout=30)
    if answer.status == 503:
        return Reading(remaining=None), {"error": _error_text(answer)}
    _checked(answer, "usage")
    body = answer.body if isinstance(answer.body, dict) else {}
    return parse_usage(body), body


def generation_prompt(prompt: str, character: str | None) -> str:
    """The prompt as sent: the service ignores a payload `character`, so it goes in here.
    A prompt that already names the character is sent as it is."""
    name = (character or "").strip()
    if not name or name.casefold() in prompt.casefold():
        return prompt
    return f"{prompt.rstrip()}\n\nCharacter: {name}"


def duration_text(duration: int | str | None) -> str | None:
    """The service wants `duration` as a string like "10s" (an integer fails the command)."""
    if duration is None:
        return None
    text = str(duration).strip().lower()
    seconds = text[:-1] if text.endswith("s") else text
    if not seconds.isdigit():
        raise ValueError(f"a Sora duration is whole seconds, like 10 or '10s', not {duration!r}")
    return f"{int(seconds)}s"


def submit(
    *,
    prompt: str,
    duration: int | str | None = None,
    aspect_ratio: str | None = None,
    character: str | None = None,
) -> Command:
    """POST one generation. 4xx raises SoraRefused (nothing was created)."""
    payload: dict[str, Any] = {"prompt": generation_prompt(prompt, character)}
    seconds = duration_text(duration)
    if seconds is not None:
        payload["duration"] = seconds
    if aspect_ratio:
        payload["aspect_ratio"] = aspect_ratio
    answer = call(
        "POST",
        f"{_base()}/v1/commands",
        json={"type": "sora.generate", "payload": payload},
        timeout=30,
    )
    if 400 <= answer.status < 500:
        raise SoraRefused(
            f"Sora refused the generation: {_error_text(answer)}",
            status=answer.status,
            limited=answer.status == 429,
        )
    _checked(answer, "submit")
    command = _command(answer.body)
    if not command.id:
        raise ServiceError(
            "Sora accepted a command without an id", permanent=False, body=answer.body
        )
    return command


def command(command_id: str) -> Command | None:
    """The command, or None when the service does not know it (404)."""
    answer = call("GET", f"{_base()}/v1/commands/{command_id}", timeout=30)
    if answer.status == 404:
        return None
    return _command(_checked(answer, "command").body)


def recent_commands() -> list[Command]:
    """The service's 50 newest commands, newest first as it gives them."""
    answer = _checked(call("GET", f"{_base()}/v1/commands", timeout=30), "commands")
    commands = answer.get("commands") or []
    return [_command(item) for item in commands if isinstance(item, dict)]


def cancel(command_id: str) -> bool:
    answer = call("DELETE", f"{_base()}/v1/commands/{command_id}", timeout=30)
    return bool(answer.get("cancelled")) and answer.ok
