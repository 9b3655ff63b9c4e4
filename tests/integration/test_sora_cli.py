"""`manage.py sora …`, the scheduler's `sora` hooks (sora.cli), and the batch importer."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from scheduler.models import Task
from sora import cli, importer
from sora.models import Trilogy, TrilogyPart

pytestmark = pytest.mark.django_db


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("sora", *args, stdout=out)
    return out.getvalue()


def test_the_sample_file_imports_and_includes_first_contact() -> None:
    assert "3 trilogies created" in _run("import")
    trilogy = Trilogy.objects.get(slug="first_contact")
    assert [p.part for p in trilogy.parts.all()] == [1, 2, 3]
    assert trilogy.character.startswith("Kai")
    assert "0 trilogies created, 3 updated" in _run("import", str(importer.SAMPLE_FILE))
    assert "first_contact: First Contact (3 parts)" in _run("list")


def test_the_prd_command_queues_first_contact_waiting_for_credits() -> None:
    _run("import")
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    options = vars(parser.parse_args(["--trilogy", "first_contact", "--when-credits", "3"]))
    out = io.StringIO()
    cli.handle(options, out)
    assert "queued first_contact: 3 parts" in out.getvalue()
    first = Task.objects.filter(type="sora").order_by("id").first()
    assert first is not None
    assert (first.req_sora_credits, first.priority) == (3, 2)
    # Credits are unknown: a check was queued, and the picture says so, never 0.
    assert Task.objects.filter(type="sora_check").exists()
    shown = io.StringIO()
    cli.handle(vars(parser.parse_args(["--credits"])), shown)
    assert "Sora credits: unknown available" in shown.getvalue()


def test_cli_mistakes_are_command_errors() -> None:
    with pytest.raises(CommandError, match="unknown trilogy"):
        _run("queue", "nope")
    with pytest.raises(CommandError, match="no such file"):
        _run("import", "/nonexistent.json")


def test_check_and_credits_subcommands() -> None:
    assert "credit check queued" in _run("check")
    assert "already queued" in _run("check")
    assert "generation slots 0/3" in _run("credits")


def test_a_reimport_updates_parts_and_drops_unused_extras(tmp_path: Path) -> None:
    batch = {
        "generatedAt": "now",
        "character": "Kai",
        "trilogies": [
            {
                "id": "way_of_dragon",
                "title": "Way",
                "theme": "t",
                "videos": [
                    {"part": n, "title": f"t{n}", "stage": "s", "prompt": f"p{n}"}
                    for n in (1, 2, 3, 4)
                ],
            }
        ],
    }
    file = tmp_path / "b.json"
    file.write_text(json.dumps(batch))
    importer.batch_import_file(path=file)
    batch["trilogies"][0]["videos"] = batch["trilogies"][0]["videos"][:3]  # type: ignore[index]
    batch["trilogies"][0]["videos"][0]["prompt"] = "new"  # type: ignore[index]
    file.write_text(json.dumps(batch))
    result = importer.batch_import_file(path=file)
    assert result.updated == ["way_of_dragon"]
    parts = TrilogyPart.objects.filter(trilogy__slug="way_of_dragon")
    assert [(p.part, p.prompt) for p in parts] == [(1, "new"), (2, "p2"), (3, "p3")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be a JSON object"),
        ({"trilogies": []}, "non-empty list"),
        ({"trilogies": ["x"]}, "must be an object"),
        ({"id": "a", "videos": [{"part": 1, "title": "t"}]}, "'prompt' is required"),
        ({"id": "a", "videos": [{"part": 0, "prompt": "p"}]}, "'part' must be"),
        ({"id": "a", "videos": ["x"]}, "must be an object"),
        ({"id": "a", "videos": [{"part": 1, "prompt": "p"}, {"part": 1, "prompt": "q"}]}, "repeat"),
        ({"id": "a", "title": ["x"], "videos": [{"part": 1, "prompt": "p"}]}, "must be text"),
        ({"title": "no id", "videos": [{"part": 1, "prompt": "p"}]}, "'id' is required"),
    ],
)
def test_bad_batches_say_what_is_wrong_and_import_nothing(data: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        importer.batch_import(data=data)
    assert not Trilogy.objects.exists()


def test_a_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "bad.json"
    file.write_text("{nope")
    with pytest.raises(ValidationError, match="not valid JSON"):
        importer.batch_import_file(path=file)


def test_scheduler_sora_and_resources_use_the_sora_hooks() -> None:
    _run("import")
    out = io.StringIO()
    call_command(
        "scheduler", "sora", "--trilogy", "first_contact", "--when-credits", "3", stdout=out
    )
    assert "queued first_contact: 3 parts" in out.getvalue()
    assert Task.objects.filter(type="sora").count() == 3
    resources = io.StringIO()
    call_command("scheduler", "resources", "--json", stdout=resources)
    credits = json.loads(resources.getvalue())["soraCredits"]
    assert credits["availableCredits"] is None
    assert credits["timeUntilRefresh"] is None
    table = io.StringIO()
    call_command("scheduler", "resources", stdout=table)
    assert "split into free and paid unknown" in table.getvalue()


def test_both_sora_commands_queue_a_trilogy_with_the_same_options_and_words() -> None:
    _run("import")
    options = ["--when-credits", "2", "--priority", "4"]
    via_sora = _run("queue", "first_contact", *options, "--idempotency-key", "a")
    out = io.StringIO()
    call_command(
        "scheduler",
        "sora",
        "--trilogy",
        "first_contact",
        *options,
        "--idempotency-key",
        "b",
        stdout=out,
    )
    assert via_sora.split(" (tasks")[0] == out.getvalue().split(" (tasks")[0]
    assert via_sora.startswith("queued first_contact: 3 parts; part 1 waits for 3 credits")
    queued = Task.objects.filter(type="sora").order_by("id")
    shape = [(t.priority, t.req_sora_credits, t.idempotency_key[-7:]) for t in queued]
    assert shape[:3] == [(4, 3, "a:part1"), (4, 0, "a:part2"), (4, 0, "a:part3")]
    assert shape[3:] == [(4, 3, "b:part1"), (4, 0, "b:part2"), (4, 0, "b:part3")]
