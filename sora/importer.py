"""Import trilogies from batch files in the CONTRACTS.md format.

`{generatedAt, character, trilogies:[{id, title, theme, character?, videos:[{part, title,
stage, prompt}]}]}`; a single trilogy object (with `videos` or `parts`) is accepted too.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import slugify

from sora.models import Trilogy, TrilogyPart


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        return f"{len(self.created)} trilogies created, {len(self.updated)} updated"


def _text(item: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str:
    value = item.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError(f"{where}: '{key}' is required")
        return ""
    if not isinstance(value, str | int | float):
        raise ValidationError(f"{where}: '{key}' must be text")
    return str(value).strip()


def _parts(item: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    videos = item.get("videos", item.get("parts"))
    if not isinstance(videos, list) or not videos:
        raise ValidationError(f"{where}: 'videos' must be a non-empty list")
    parts: list[dict[str, Any]] = []
    for index, video in enumerate(videos, start=1):
        if not isinstance(video, Mapping):
            raise ValidationError(f"{where}: video {index} must be an object")
        number = video.get("part", index)
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise ValidationError(f"{where}: video {index}: 'part' must be a number ≥ 1")
        parts.append(
            {
                "part": number,
                "title": _text(video, "title", f"{where} part {number}", required=False)
                or f"Part {number}",
                "stage": _text(video, "stage", where, required=False),
                "prompt": _text(video, "prompt", f"{where} part {number}"),
            }
        )
    numbers = [p["part"] for p in parts]
    if len(set(numbers)) != len(numbers):
        raise ValidationError(f"{where}: part numbers repeat")
    return sorted(parts, key=lambda p: p["part"])


def trilogy_upsert(
    *, data: Mapping[str, Any], character: str = "", source: str = ""
) -> tuple[Trilogy, bool]:
    """Create or update one trilogy and its parts; (trilogy, created)."""
    where = f"trilogy {data.get('id', '?')!s}"
    slug = slugify(_text(data, "id", where))
    parts = _parts(data, where)
    with transaction.atomic():
        trilogy, created = Trilogy.objects.update_or_create(
            slug=slug,
            defaults={
                "title": _text(data, "title", where, required=False) or slug,
                "theme": _text(data, "theme", where, required=False),
                "character": _text(data, "character", where, required=False) or character,
                "source": source[:200],
            },
        )
        for part in parts:
            TrilogyPart.objects.update_or_create(
                trilogy=trilogy,
                part=part["part"],
                defaults={k: part[k] for k in ("title", "stage", "prompt")},
            )
        (
            TrilogyPart.objects.filter(trilogy=trilogy, videos__isnull=True)
            .exclude(part__in=[p["part"] for p in parts])
            .delete()
        )
    return trilogy, created


def batch_import(
    *, data: Any, source: str = "", on_progress: Callable[[int, int], None] | None = None
) -> ImportResult:
    """Import a batch (or one trilogy), all or nothing; `on_progress(done, total)` after each
    trilogy."""
    if not isinstance(data, Mapping):
        raise ValidationError("a batch must be a JSON object")
    items = data.get("trilogies") if "trilogies" in data else [data]
    if not isinstance(items, list) or not items:
        raise ValidationError("'trilogies' must be a non-empty list")
    character = str(data.get("character") or "") if "trilogies" in data else ""
    result = ImportResult()
    with transaction.atomic():
        for index, item in enumerate(items, start=1):
            if not isinstance(item, Mapping):
                raise ValidationError(f"trilogy {index} must be an object")
            trilogy, created = trilogy_upsert(data=item, character=character, source=source)
            (result.created if created else result.updated).append(trilogy.slug)
            if on_progress is not None:
                on_progress(index, len(items))
    return result


def batch_import_file(
    *, path: str | Path, on_progress: Callable[[int, int], None] | None = None
) -> ImportResult:
    file = Path(path)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ValidationError(f"no such file: {file}") from exc
    except ValueError as exc:
        raise ValidationError(f"{file.name} is not valid JSON: {exc}") from exc
    return batch_import(data=data, source=file.name, on_progress=on_progress)


SAMPLE_FILE = Path(__file__).resolve().parent / "fixtures" / "trilogies.json"
