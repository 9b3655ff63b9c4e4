"""Helpers and scenarios shared by the X, TikTok and Instagram DM tests.

Each platform's test module runs the same user-visible scenarios against its own simulator
(on a free port, with `settings.SERVICE_URLS` pointed at it) through the real API, dispatcher,
runner, handler, ledger and local CRM.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import factory
import requests
import time_machine
from django.utils import timezone

from crm.client import get_client
from dm.models import AccountLimit, PlatformAccount, SendLedger
from scheduler.dispatcher import Dispatcher
from scheduler.models import Event, Pause, Task
from tests.sim_fixtures import running, seen, sent, set_faults

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


# --- scenarios --------------------------------------------------------------------------------


def scenario_sent_once_and_logged_in_the_crm(api, server, run_on_commit, platform):
    first = api.post(
        "/api/dm/send",
        {"platform": platform, "username": "maya_builds", "text": "Hi Maya, loved the demo!"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="hello-maya",
    )
    assert first.status_code == 201, first.content
    assert first.json()["success"] is True
    assert first.json()["task"]["type"] == "dm"
    again = api.post(
        "/api/dm/send",
        {"platform": platform, "username": "maya_builds", "text": "Hi Maya, loved the demo!"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="hello-maya",
    )
    assert again.status_code == 200
    assert again.json()["taskId"] == first.json()["taskId"]
    task = Task.objects.get(pk=int(first.json()["taskId"]))
    assert task.account == "default"
    cycle(run_on_commit)
    task.refresh_from_db()
    assert task.status == "completed", (task.error, task.wait_reason)
    assert [d["text"] for d in deliveries(server)] == ["Hi Maya, loved the demo!"]
    entry = ledger(task)
    assert (entry.state, entry.verified) == ("sent", True)
    state = get_client().conversation_state(platform=platform, username="maya_builds")
    assert state["last_outbound_at"] is not None
    cycle(run_on_commit)
    assert len(deliveries(server)) == 1
    platforms = api.get("/api/resources/platforms").json()["platforms"]
    mine = next(p for p in platforms if p["platform"] == platform)
    assert mine["messagesThisHour"] == 1
    assert mine["messagesToday"] == 1
    assert mine["lastActivity"] is not None
    return task


def decide_from_the_sim(api, server, task) -> str:
    """What a careful human does with a blocked send: look, then mark sent or send again."""
    decision = "sent" if deliveries(server, task.payload["username"]) else "resend"
    answer = api.post(f"/api/dm/sends/{task.pk}/decide", {"decision": decision}, format="json")
    assert answer.status_code == 200, answer.content
    return decision


def scenario_crash_after_delivery_is_verified_not_resent(
    api, server, run_on_commit, platform, *, verifiable: bool = True
):
    """The answer is lost after delivery. Where the conversation can be read trustworthily
    (TikTok; Instagram and X cannot for a new recipient), the read proves it; elsewhere the
    task blocks for a human. Never a second delivery."""
    set_faults(server, crash_after_delivery=1)
    task = send_via_api(api, platform, "leo_creates", "Quick question about your launch")
    cycle(run_on_commit)
    task.refresh_from_db()
    if verifiable:
        assert task.status == "completed", (task.error, task.wait_reason)
        assert (ledger(task).state, ledger(task).verified) == ("sent", True)
        assert "verified" in task.result["note"]
    else:
        assert task.status == "blocked", (task.status, task.error)
        assert ledger(task).state == "blocked"
        assert decide_from_the_sim(api, server, task) == "sent"
    assert len(deliveries(server, "leo_creates")) == 1
    cycle(run_on_commit, timezone.now() + timedelta(hours=1))
    assert len(deliveries(server, "leo_creates")) == 1


def scenario_unverified_success_is_sent_never_retried(api, server, run_on_commit, platform):
    set_faults(server, unverified=1)
    task = send_via_api(api, platform, "sam_ships", "Congrats on shipping!")
    cycle(run_on_commit)
    task.refresh_from_db()
    assert task.status == "completed"
    assert task.retry_count == 0
    assert (ledger(task).state, ledger(task).verified) == ("sent", False)
    cycle(run_on_commit, timezone.now() + timedelta(hours=2))
    assert len(deliveries(server, "sam_ships")) == 1


def scenario_429_defers_with_a_doubling_cooldown(api, server, run_on_commit, platform):
    """The real services' 429s carry no retry time: our own cooldown decides (base, then
    doubled)."""
    from django.conf import settings

    base = settings.DM_COOLDOWN_BASE_SECONDS
    set_faults(server, status_429=2, retry_after_s=60)
    task = send_via_api(api, platform, "rate_me", "hello there")
    start = timezone.now()
    cycle(run_on_commit)
    task.refresh_from_db()
    assert task.status == "pending"
    assert task.retry_count == 0
    assert "rate limit" in task.wait_reason.lower()
    limit = AccountLimit.objects.get(account__platform=platform, action="dm")
    first = limit.cooldown_until - start
    assert timedelta(seconds=base - 5) < first < timedelta(seconds=base + 10)
    assert task.scheduled_for == limit.cooldown_until
    assert deliveries(server) == []
    platforms = api.get("/api/resources/platforms").json()["platforms"]
    assert next(p for p in platforms if p["platform"] == platform)["cooldownUntil"] is not None
    later = limit.cooldown_until + timedelta(seconds=1)
    cycle(run_on_commit, later)  # still 429: the cooldown doubles
    limit.refresh_from_db()
    assert limit.cooldown_level == 2
    assert limit.cooldown_until - later > timedelta(seconds=2 * base - 10)
    cycle(run_on_commit, limit.cooldown_until + timedelta(seconds=1))
    task.refresh_from_db()
    assert task.status == "completed"
    assert len(deliveries(server)) == 1
    limit.refresh_from_db()
    assert limit.cooldown_level == 0


def scenario_logged_out_sets_a_health_pause_until_a_good_probe(
    api, server, run_on_commit, platform
):
    set_faults(server, logged_out=True)
    task = send_via_api(api, platform, "paused_pal", "are you there?")
    cycle(run_on_commit)
    task.refresh_from_db()
    assert task.status == "pending"
    pause = Pause.objects.get(platform=platform, kind="health")
    assert "log" in pause.reason.lower()
    assert Event.objects.filter(kind="platform.paused").exists()
    probe = Task.objects.get(type="probe", status="pending")
    cycle(run_on_commit, timezone.now() + timedelta(hours=1))  # still logged out
    task.refresh_from_db()
    assert task.status == "pending"
    assert task.wait_reason.startswith("paused")
    assert Pause.objects.filter(platform=platform, kind="health").exists()
    platforms = api.get("/api/resources/platforms").json()["platforms"]
    mine = next(p for p in platforms if p["platform"] == platform)
    assert mine["isLoggedIn"] is False
    assert mine["isReady"] is False
    set_faults(server, logged_out=False)
    probe = Task.objects.filter(type="probe", status="pending").latest("id")
    cycle(run_on_commit, probe.scheduled_for + timedelta(seconds=1))
    assert not Pause.objects.filter(platform=platform, kind="health").exists()
    cycle(run_on_commit, probe.scheduled_for + timedelta(seconds=2))
    task.refresh_from_db()
    assert task.status == "completed"
    assert len(deliveries(server)) == 1


def scenario_a_killed_worker_verifies_before_sending_again(
    api, server, run_on_commit, platform, *, delivered: bool, verifiable: bool = True
):
    """The worker died after the ledger said attempting: the reaper hands it back, and the
    next attempt reads the conversation instead of sending blindly. Where no trustworthy read
    can tell (X; a new recipient's empty or unopenable thread), it blocks for a human."""
    from dm import services
    from dm.clients import UnifiedDMClient
    from dm.verify import snapshot
    from scheduler.lifecycle import S

    task = send_via_api(api, platform, "killed_mid_send", "one and only")
    now = timezone.now()
    Task.objects.filter(pk=task.pk).update(
        status=S.RUNNING, attempt=1, heartbeat_at=now - timedelta(minutes=5), started_at=now
    )
    task.refresh_from_db()
    account = PlatformAccount.objects.get(platform=platform, is_default=True)
    client = UnifiedDMClient()
    baseline = snapshot(client, platform=platform, username="killed_mid_send", text="one and only")
    spec = services.SendSpec(
        task.idempotency_key,
        task.pk,
        platform,
        "dm",
        "killed_mid_send",
        "",
        "one and only",
        baseline=baseline,
    )
    services.ledger_begin(spec=spec, account=account, now=now - timedelta(seconds=1))
    if delivered:
        client.send(platform, "killed_mid_send", "one and only")
    cycle(run_on_commit)  # reaps: ledger unknown, the core schedules a retry with backoff
    assert ledger(task).state == "unknown"
    task.refresh_from_db()
    cycle(run_on_commit, task.scheduled_for + timedelta(seconds=1))
    task.refresh_from_db()
    if not verifiable:
        assert task.status == "blocked", (task.status, task.error)
        decide_from_the_sim(api, server, task)
        cycle(run_on_commit)
        task.refresh_from_db()
    assert task.status == "completed", (task.error, task.wait_reason)
    assert len(deliveries(server, "killed_mid_send")) == 1
    assert ledger(task).state == "sent"
    return task


def scenario_unverifiable_send_blocks_and_a_human_decides(api, server, run_on_commit, platform):
    """The answer is lost and the conversation cannot be read: blocked, then 'mark sent'."""
    set_faults(server, crash_after_delivery=1)
    original = requests.Session.request

    def failing_reads(self, method, url, *args, **kwargs):
        if method == "GET" and "messages" in url:
            raise requests.ConnectionError("Connection refused: NewConnectionError")
        return original(self, method, url, *args, **kwargs)

    from unittest import mock

    task = send_via_api(api, platform, "unsure_user", "did this arrive?")
    with mock.patch.object(requests.Session, "request", failing_reads):
        cycle(run_on_commit)
    task.refresh_from_db()
    assert task.status == "blocked", (task.status, task.error)
    assert "mark sent, or send again" in task.wait_reason
    assert ledger(task).state == "blocked"
    answer = api.post(f"/api/dm/sends/{task.pk}/decide", {"decision": "sent"}, format="json")
    assert answer.status_code == 200, answer.content
    task.refresh_from_db()
    assert task.status == "completed"
    assert ledger(task).state == "sent"
    assert len(deliveries(server, "unsure_user")) == 1
    return task


def scenario_guards_refuse_dnc_and_repeated_cold_dms(
    api, server, run_on_commit, platform, *, service_allows_second_send=True
):
    crm = get_client()
    crm.contact_upsert(platform=platform, username="never_me", display_name="Never")
    crm.set_do_not_contact(platform=platform, username="never_me", value=True)
    dnc = send_via_api(api, platform, "never_me", "hello")
    first = send_via_api(api, platform, "cold_one", "first touch")
    cycle(run_on_commit)
    cycle(run_on_commit)
    dnc.refresh_from_db()
    first.refresh_from_db()
    assert dnc.status == "failed"
    assert "do-not-contact" in dnc.error
    assert first.status == "completed"
    second = send_via_api(api, platform, "cold_one", "just bumping this")
    cycle(run_on_commit)
    second.refresh_from_db()
    assert second.status == "failed"
    assert "cold DM refused" in second.error
    assert [d["username"] for d in deliveries(server)] == ["cold_one"]
    # Once they write back, a reply is not cold.
    crm.message_log(
        platform=platform,
        username="cold_one",
        text="hey! thanks",
        direction="inbound",
        sent_at=timezone.now(),
    )
    reply = send_via_api(api, platform, "cold_one", "great to hear from you")
    cycle(run_on_commit)
    reply.refresh_from_db()
    if service_allows_second_send:
        assert reply.status == "completed", reply.error
        assert len(deliveries(server, "cold_one")) == 2
    else:  # our guard let it through; the service itself refuses for good
        assert reply.status == "failed"
        assert reply.retry_count == 0
        assert "already_messaged" in reply.error
        assert len(deliveries(server, "cold_one")) == 1
    return reply


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
