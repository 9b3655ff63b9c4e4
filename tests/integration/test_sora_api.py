"""The Sora REST routes, the video file view, and the admin pages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from scheduler.models import Task
from sora import estimation, services
from sora.models import Trilogy, Video, VideoState

pytestmark = pytest.mark.django_db
NOW = datetime(2025, 3, 10, 1, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def video_dir(settings: Any, tmp_path: Path) -> Path:
    """Videos are served only from SORA_VIDEO_DIR: here, the test's own folder."""
    settings.SORA_VIDEO_DIR = tmp_path
    return tmp_path


@pytest.fixture
def user() -> User:
    return User.objects.create_superuser("admin", "a@example.com", "pw")


@pytest.fixture
def api(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_every_sora_route_needs_a_login() -> None:
    anonymous = APIClient()
    for url in ("/api/resources/sora", "/api/sora/credits", "/api/sora/trilogies"):
        assert anonymous.get(url).status_code in (401, 403)
    assert anonymous.post(
        "/api/sora/queue-trilogy", {"trilogyId": "x"}, format="json"
    ).status_code in (401, 403)


def test_credits_are_null_when_unknown_never_zero(api: APIClient) -> None:
    body = api.get("/api/sora/credits").json()
    assert body == {
        "credits": {
            "freeCredits": None,
            "paidCredits": None,
            "totalCredits": None,
            "lastChecked": None,
            "estimatedRefreshTime": None,
            "refreshIntervalHours": 24.0,
            "remainingCredits": None,
            "reservedCredits": 0,
            "availableCredits": None,
            "known": False,
            "slotsInUse": 0,
            "slotCapacity": 3,
        },
        "timeUntilRefresh": None,
    }


def test_credits_in_the_contract_shape_with_time_until_refresh(api: APIClient) -> None:
    hint = NOW + timedelta(hours=4, minutes=23)
    services.snapshot_record(
        reading=estimation.Reading(remaining=7, free=4, paid=3, refreshes_at=hint), now=NOW
    )
    with time_machine.travel(NOW, tick=False):
        body = api.get("/api/resources/sora").json()
    credits = body["credits"]
    assert (credits["freeCredits"], credits["paidCredits"], credits["totalCredits"]) == (4, 3, 7)
    assert credits["lastChecked"] == NOW.isoformat()
    assert credits["estimatedRefreshTime"] == hint.isoformat()
    assert credits["refreshIntervalHours"] == 24.0
    assert body["timeUntilRefresh"] == "4h 23m"


def test_queue_trilogy_answers_every_task_id_and_repeats_are_safe(
    api: APIClient, sample_trilogies: list[str]
) -> None:
    body = {"trilogyId": "first_contact", "trilogyName": "Demo", "idempotencyKey": "k1"}
    first = api.post("/api/sora/queue-trilogy", body, format="json")
    assert first.status_code == 201
    answer = first.json()
    assert answer["success"] is True
    assert len(answer["taskIds"]) == 3
    assert all(isinstance(pk, str) for pk in answer["taskIds"])
    assert answer["taskId"] == answer["taskIds"][0]
    assert "first_contact" in answer["message"]
    task = Task.objects.get(pk=int(answer["taskId"]))
    assert (task.priority, task.req_sora_credits, task.type) == (2, 3, "sora")
    assert task.name.startswith("Demo — part 1/3")
    again = api.post("/api/sora/queue-trilogy", body, format="json")
    assert again.status_code == 200
    assert again.json()["taskIds"] == answer["taskIds"]
    assert Task.objects.filter(type="sora").count() == 3


def test_the_idempotency_header_works_too(api: APIClient, sample_trilogies: list[str]) -> None:
    body = {"trilogyId": "neon_shadows", "waitForCredits": 5, "priority": 1}
    one = api.post("/api/sora/queue-trilogy", body, format="json", HTTP_IDEMPOTENCY_KEY="h")
    two = api.post("/api/sora/queue-trilogy", body, format="json", HTTP_IDEMPOTENCY_KEY="h")
    assert one.json()["taskIds"] == two.json()["taskIds"]
    task = Task.objects.get(pk=int(one.json()["taskId"]))
    assert (task.priority, task.req_sora_credits) == (1, 5)


def test_queue_trilogy_says_what_was_wrong(api: APIClient, sample_trilogies: list[str]) -> None:
    unknown = api.post("/api/sora/queue-trilogy", {"trilogyId": "nope"}, format="json")
    assert unknown.status_code == 400
    assert "unknown trilogy 'nope'" in unknown.json()["error"]
    bad = api.post(
        "/api/sora/queue-trilogy", {"trilogyId": "first_contact", "priority": 9}, format="json"
    )
    assert bad.status_code == 400
    assert bad.json()["success"] is False


def test_trilogies_can_be_listed_and_posted(api: APIClient) -> None:
    one = {
        "id": "frozen_edge",
        "title": "Frozen Edge",
        "theme": "ice",
        "videos": [
            {"part": n, "title": f"T{n}", "stage": "s", "prompt": f"p{n}"} for n in (1, 2, 3)
        ],
    }
    created = api.post("/api/sora/trilogies", one, format="json")
    assert created.status_code == 201
    assert created.json()["created"] == ["frozen_edge"]
    updated = api.post(
        "/api/sora/trilogies", {"character": "Kai", "trilogies": [one]}, format="json"
    )
    assert updated.status_code == 200
    assert updated.json()["updated"] == ["frozen_edge"]
    listed = api.get("/api/sora/trilogies").json()["trilogies"]
    assert listed[0]["id"] == "frozen_edge"
    assert [v["part"] for v in listed[0]["videos"]] == [1, 2, 3]
    assert listed[0]["character"] == "Kai"
    broken = api.post("/api/sora/trilogies", {"id": "x", "videos": []}, format="json")
    assert broken.status_code == 400
    assert "videos" in broken.json()["error"]


def _finished_video(tmp_path: Path) -> Video:
    services.trilogy_queue(slug="first_contact")
    video = Video.objects.select_related("part__trilogy").order_by("id").first()
    assert video is not None
    file = tmp_path / "v.mp4"
    file.write_bytes(b"fake video")
    services.video_succeeded(video_id=video.pk, video_path=str(file), file_size=10, now=NOW)
    video.refresh_from_db()
    return video


def test_a_finished_video_is_viewable_and_downloadable_behind_login(
    user: User, tmp_path: Path, sample_trilogies: list[str]
) -> None:
    video = _finished_video(tmp_path)
    url = f"/sora/videos/{video.pk}/file"
    assert Client().get(url).status_code in (401, 403)
    browser = Client()
    browser.force_login(user)
    inline = browser.get(url)
    assert inline.status_code == 200
    assert b"".join(inline.streaming_content) == b"fake video"  # type: ignore[attr-defined]
    download = browser.get(url + "?download=1")
    assert "attachment" in download["Content-Disposition"]
    assert "first_contact-part1.mp4" in download["Content-Disposition"]
    user.is_staff = True
    user.save()
    page = browser.get("/").content.decode()
    assert f'href="{url}"' in page  # the dashboard links the finished video
    assert f'href="{url}?download=1"' in page
    Path(video.video_path).unlink()
    assert browser.get(url).status_code == 404
    assert browser.get("/sora/videos/999999/file").status_code == 404


def test_the_admin_pages_open_and_import_a_batch(
    user: User, tmp_path: Path, sample_trilogies: list[str]
) -> None:
    browser = Client()
    browser.force_login(user)
    video = _finished_video(tmp_path)
    services.snapshot_record(reading=estimation.Reading(remaining=3), now=NOW)
    for model in ("creditsnapshot", "credittrigger", "trilogy", "trilogyrun", "video"):
        assert browser.get(f"/admin/sora/{model}/").status_code == 200, model
    assert b"download" in browser.get(f"/admin/sora/video/{video.pk}/change/").content
    assert browser.get(f"/admin/sora/trilogyrun/{video.run_id}/change/").status_code == 200
    batch = {
        "generatedAt": "x",
        "character": "Kai",
        "trilogies": [
            {
                "id": "midnight_run",
                "title": "Midnight Run",
                "theme": "t",
                "videos": [{"part": 1, "title": "a", "stage": "s", "prompt": "p"}],
            }
        ],
    }
    upload = SimpleUploadedFile("batch.json", json.dumps(batch).encode())
    done = browser.post("/admin/sora/trilogy/import/", {"file": upload})
    assert done.status_code == 302
    assert Trilogy.objects.get(slug="midnight_run").source == "batch.json"
    bad = browser.post(
        "/admin/sora/trilogy/import/", {"file": SimpleUploadedFile("b.json", b"{not json")}
    )
    assert bad.status_code == 200
    assert b"errorlist" in bad.content
    assert browser.get("/admin/sora/trilogy/import/").status_code == 200


def test_the_admin_actions_call_the_services(user: User, sample_trilogies: list[str]) -> None:
    browser = Client()
    browser.force_login(user)
    pk = Trilogy.objects.get(slug="volcanic_fury").pk
    browser.post("/admin/sora/trilogy/", {"action": "queue_selected", "_selected_action": [pk]})
    assert Task.objects.filter(type="sora").count() == 3
    snap = services.snapshot_record(reading=estimation.Reading(remaining=1), now=NOW)
    Task.objects.filter(type="sora_check").delete()
    browser.post(
        "/admin/sora/creditsnapshot/", {"action": "check_now", "_selected_action": [snap.pk]}
    )
    assert Task.objects.filter(type="sora_check", status="pending").count() == 1


def test_video_states_are_readable(sample_trilogies: list[str]) -> None:
    services.trilogy_queue(slug="first_contact")
    video = Video.objects.select_related("part__trilogy", "run__trilogy").first()
    assert video is not None
    assert video.state == VideoState.QUEUED
    assert "first_contact #1" in str(video)
    assert "run #" in str(video.run)
    assert "first_contact" in str(video.part.trilogy)
