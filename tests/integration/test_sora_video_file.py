"""Video files: only from SORA_VIDEO_DIR (real path, symlinks followed), to the viewer role,
by session or by API token."""

from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from sora import services
from sora.models import Video
from tests.conftest import make_user, token_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def folder(settings, tmp_path):
    videos = tmp_path / "videos"
    videos.mkdir()
    settings.SORA_VIDEO_DIR = videos
    return videos


def _video_at(path: str) -> Video:
    services.trilogy_queue(slug="first_contact")
    video = Video.objects.order_by("id").first()
    services.video_succeeded(video_id=video.pk, video_path=path, file_size=1, now=timezone.now())
    return video


@pytest.fixture
def secret(tmp_path):
    """A file outside the video folder, like the database beside it."""
    path = tmp_path / "safari_auto.sqlite3"
    path.write_bytes(b"SQLite format 3\x00 secrets")
    return path


def test_a_viewer_script_downloads_a_video_with_its_token(folder, sample_trilogies, viewer):
    (folder / "v.mp4").write_bytes(b"fake video")
    video = _video_at(str(folder / "v.mp4"))
    answer = token_client(viewer).get(f"/sora/videos/{video.pk}/file?download=1")
    assert answer.status_code == 200
    assert b"".join(answer.streaming_content) == b"fake video"
    assert "attachment" in answer["Content-Disposition"]


def test_a_script_that_accepts_only_video_still_gets_the_file(folder, sample_trilogies, viewer):
    (folder / "v.mp4").write_bytes(b"fake video")
    video = _video_at(str(folder / "v.mp4"))
    answer = token_client(viewer).get(f"/sora/videos/{video.pk}/file", HTTP_ACCEPT="video/mp4")
    assert answer.status_code == 200


def test_without_the_viewer_role_there_is_no_file(folder, sample_trilogies):
    (folder / "v.mp4").write_bytes(b"fake video")
    video = _video_at(str(folder / "v.mp4"))
    url = f"/sora/videos/{video.pk}/file"
    assert token_client(make_user("nobody")).get(url).status_code == 403
    assert APIClient().get(url).status_code in (401, 403)


@pytest.mark.parametrize(
    "where",
    [
        lambda folder, secret: str(secret),  # the database file, absolute
        lambda folder, secret: f"{folder}/../{secret.name}",  # climbing out with ../
        lambda folder, secret: str(folder),  # the folder itself
        lambda folder, secret: f"{folder}/missing.mp4",
        lambda folder, secret: f"{folder}/v.mp4\x00.txt",
    ],
)
def test_a_path_outside_the_video_folder_answers_404(
    folder, secret, sample_trilogies, viewer, where
):
    path = where(folder, secret)
    if "\x00" in path and connection.vendor == "postgresql":
        pytest.skip("Postgres cannot store a NUL in text: no such stored path can exist there")
    video = _video_at(path)
    answer = token_client(viewer).get(f"/sora/videos/{video.pk}/file")
    assert answer.status_code == 404
    assert b"secrets" not in b"".join(getattr(answer, "streaming_content", [answer.content]))


def test_a_symlink_out_of_the_video_folder_answers_404(folder, secret, sample_trilogies, viewer):
    link = folder / "v.mp4"
    link.symlink_to(secret)
    video = _video_at(str(link))
    assert token_client(viewer).get(f"/sora/videos/{video.pk}/file").status_code == 404


def test_a_video_folder_reached_through_a_symlink_still_serves(
    settings, tmp_path, sample_trilogies, viewer
):
    real = tmp_path / "real"
    real.mkdir()
    (real / "v.mp4").write_bytes(b"fake video")
    (tmp_path / "alias").symlink_to(real)
    settings.SORA_VIDEO_DIR = tmp_path / "alias"
    video = _video_at(str(Path(tmp_path / "alias" / "v.mp4")))
    assert token_client(viewer).get(f"/sora/videos/{video.pk}/file").status_code == 200
