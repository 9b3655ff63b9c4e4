"""Helpers shared by the X, TikTok and Instagram DM tests: a platform's simulator on a free
port with `settings.SERVICE_URLS` pointed at it, sends through the API, dispatcher cycles, the
ledger, and the system as processes for e2e. The behaviour they assert is in the tests
(tests/integration/test_dm_api_platforms.py runs it for every platform)."""

from __future__ import annotations

from contextlib import contextmanager

import factory
import requests
import time_machine
from django.utils import timezone

from dm.models import PlatformAccount, SendLedger
from scheduler.dispatcher import Dispatcher
from scheduler.models import Event, Task
from tests.sim_fixtures import running, seen, sent

__all__ = ["Task", "seen"]

SERVICE_KEY = {"twitter": "twitter_dm", "tiktok": "tiktok_dm", "instagram": "instagram_dm"}


class PlatformAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlatformAccount

    platform = "twitter"
    handle = factory.Sequence(lambda n: f"acct{n}")
    safari_host = "local"
    timezone = "UTC"


def open_all_day(settings, platform: str, *, gap: str = "0-0", caps: str = "15/100") -> None:
    """Accounts made from now on are open around the clock and have no gap (fast tests)."""
    settings.DM_ACTIVE_START = "00:00"
    settings.DM_ACTIVE_END = "00:00"
    settings.DM_LIMITS = [f"{platform}:dm={caps}/{gap}"]


@contextmanager
def platform_sim(settings, sim_class, platform: str, **options):
    """The platform's simulator on a free port, `real` profile unless `profile=` says kind."""
    with running(sim_class(**options)) as server:
        settings.SERVICE_URLS = {**settings.SERVICE_URLS, SERVICE_KEY[platform]: server.url}
        yield server


def cycle(run_on_commit, now=None):
    """One dispatcher cycle; claimed tasks run inline (django-q2 sync) after commit. With
    `now`, the whole process's clock travels there first (handlers read the clock too)."""
    if now is None:
        return run_on_commit(Dispatcher(name="test").cycle, None)
    with time_machine.travel(now, tick=True):
        return run_on_commit(Dispatcher(name="test").cycle, timezone.now())


def send_via_api(api, platform: str, username: str, text: str, **extra):
    answer = api.post(
        "/api/dm/send",
        {"platform": platform, "username": username, "text": text, **extra},
        format="json",
    )
    assert answer.status_code in (200, 201), answer.content
    return Task.objects.get(pk=int(answer.json()["taskId"]))


def deliveries(server, username: str | None = None) -> list[dict]:
    return [d for d in sent(server) if username is None or d["username"] == username]


def ledger(task: Task) -> SendLedger:
    return SendLedger.objects.get(idempotency_key=task.idempotency_key)


def kinds(task: Task) -> list[str]:
    return list(Event.objects.filter(task=task).order_by("id").values_list("kind", flat=True))


# --- a human decides a blocked send ------------------------------------------------------------


def decide_from_the_sim(api, server, task) -> str:
    """What a careful human does with a blocked send: look, then mark sent or send again."""
    decision = "sent" if deliveries(server, task.payload["username"]) else "resend"
    answer = api.post(f"/api/dm/sends/{task.pk}/decide", {"decision": decision}, format="json")
    assert answer.status_code == 200, answer.content
    return decision


# --- e2e: the system, the simulators and the CRM as separate processes ------------------------


def start_crm_deployment(tmp_path):
    """The CRM as its own deployment (SAFARI_ROLE=crm): only the core apps and `crm`, its own
    SQLite file, migrated and keyed in that role, served by daphne on its own port."""
    from tests.e2e.harness import System

    home = tmp_path / "crm"
    home.mkdir()
    crm = System(home, SAFARI_ROLE="crm", SQLITE_PATH=str(home / "crm.sqlite3"))
    crm.manage("migrate", "--noinput")
    key = crm.manage("crm_apikey", "create", "--name", "scheduler", "--quiet").strip()
    assert key, "crm_apikey create --quiet printed no key"
    crm.start_web()
    health = requests.get(f"{crm.base}/health", timeout=5).json()
    assert health == {"status": "ok", "service": "crm"}, health  # the crm role's own URLs
    assert "scheduler_task" not in crm.manage(
        "shell",
        "-c",
        "from django.db import connection; print(connection.introspection.table_names())",
    )
    return crm, key


def start_dm_system(tmp_path, platform: str, *, crm=None, crm_key: str = "", **env):
    """daphne + qcluster + dispatcher + `manage.py simulate --only <platform>` on free ports."""
    from tests.e2e.harness import System, free_offset, simulator_url

    key = f"{platform}_dm"
    offset = free_offset([key])
    url = simulator_url(key, offset)
    extra = {
        f"{platform.upper()}_DM_URL": url,
        "DM_ACTIVE_START": "00:00",
        "DM_ACTIVE_END": "00:00",
        "DM_LIMITS": f"{platform}:dm=1000/1000/0-1",
        **env,
    }
    if crm is not None:
        extra.update({"CRM_API_URL": crm.base, "CRM_API_KEY": crm_key})
    system = System(tmp_path, **extra)
    system.start_all()
    system.start_simulators([key], offset, "--reply-probability", "0")
    requests.post(f"{url}/_sim/reset", timeout=5)
    return system, url


def e2e_dm_appears_once_in_the_sim_and_the_crm(tmp_path, platform: str):
    crm, key = start_crm_deployment(tmp_path)
    system = None
    try:
        system, sim_url = start_dm_system(tmp_path, platform, crm=crm, crm_key=key)
        answer = system.api(
            "POST",
            "/api/dm/send",
            json={"platform": platform, "username": "e2e_friend", "text": "hello from e2e"},
            headers={"Idempotency-Key": "e2e-1"},
        )
        assert answer.status_code == 201, answer.text
        again = system.api(
            "POST",
            "/api/dm/send",
            json={"platform": platform, "username": "e2e_friend", "text": "hello from e2e"},
            headers={"Idempotency-Key": "e2e-1"},
        )
        assert again.status_code == 200
        assert again.json()["taskId"] == answer.json()["taskId"]
        done = system.wait_status(answer.json()["taskId"], {"completed", "failed"}, timeout=60)
        assert done["status"] == "completed", done
        delivered = requests.get(f"{sim_url}/_sim/sent", timeout=5).json()
        assert [(d["username"], d["text"]) for d in delivered] == [("e2e_friend", "hello from e2e")]
        contact = requests.get(
            f"{crm.base}/api/contacts/by-username/{platform}/e2e_friend",
            headers={"x-api-key": key},
            timeout=5,
        )
        assert contact.status_code == 200, contact.text
        assert contact.json()["total_messages_sent"] == 1
        platforms = system.api("GET", "/api/resources/platforms").json()["platforms"]
        assert next(p for p in platforms if p["platform"] == platform)["messagesThisHour"] == 1
    finally:
        if system is not None:
            system.stop()
        crm.stop()
