"""One contract for crm.client, run against both implementations: the local ORM client and the
HTTP client talking to a LIVE CRM deployment (daphne, SAFARI_ROLE=crm, its own SQLite)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from django.test import override_settings

from crm.client import CrmError, get_client
from crm.client_http import HttpCrmClient
from crm.client_local import LocalCrmClient

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WHEN = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db  # the local client's database; the live server has its own


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def live_crm(tmp_path_factory):
    """The CRM as its own deployment: migrate, create a key, start daphne, wait for health."""
    tmp = tmp_path_factory.mktemp("crm-live")
    env = {
        **os.environ,
        "SAFARI_ROLE": "crm",
        "DJANGO_SETTINGS_MODULE": "safari_auto.settings",
        "SQLITE_PATH": str(tmp / "crm.sqlite3"),
        "DATA_DIR": str(tmp),
        "CRM_API_URL": "",
    }
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=180)
    created = subprocess.run(
        [*manage, "crm_apikey", "create", "--name", "contract", "--quiet"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=60,
        capture_output=True,
        text=True,
    )
    key = created.stdout.strip().splitlines()[-1]
    port = _free_port()
    log = (tmp / "daphne.log").open("w")
    server = subprocess.Popen(
        [str(BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "crm.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{base}/health", timeout=5).status_code == 200:
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise RuntimeError((tmp / "daphne.log").read_text())
        time.sleep(0.2)
    yield {"base": base, "key": key}
    server.terminate()
    server.wait(timeout=15)
    log.close()


@pytest.fixture(params=["local", "http"])
def kind(request):
    return request.param


@pytest.fixture
def crm(kind, request):
    if kind == "local":
        return LocalCrmClient()
    live = request.getfixturevalue("live_crm")
    return HttpCrmClient(base_url=live["base"], api_key=live["key"])


@pytest.fixture
def new_campaign(kind, request):
    """Campaigns are made by people (admin/API), not through crm.client."""

    def make(**data):
        data = {"status": "active", "platforms": ["instagram"], **data}
        if kind == "local":
            from crm.services import campaign_create

            return str(campaign_create(data=data).pk)
        live = request.getfixturevalue("live_crm")
        answer = requests.post(
            f"{live['base']}/api/campaigns",
            json=data,
            headers={"x-api-key": live["key"]},
            timeout=5,
        )
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    return make


def handle() -> str:
    return f"u{uuid.uuid4().hex[:10]}"


def test_an_unknown_handle_has_no_contact_and_a_blank_state(crm):
    name = handle()
    assert crm.contact_by_handle(platform="instagram", username=name) is None
    assert crm.conversation_state(platform="instagram", username=name) == {
        "contact_id": None,
        "do_not_contact": False,
        "has_inbound": False,
        "last_outbound_at": None,
        "last_inbound_at": None,
        "display_only": False,
    }


def test_upsert_creates_once_then_updates(crm):
    name = handle()
    first = crm.contact_upsert(platform="tiktok", username=name, display_name="Ana Garcia")
    assert isinstance(first["id"], str)
    assert first["display_name"] == "Ana Garcia"
    assert first["platform_accounts"][0]["username"] == name
    again = crm.contact_upsert(
        platform="tiktok", username=name.upper(), fields={"notes": "met at expo"}
    )
    assert again["id"] == first["id"]
    assert again["notes"] == "met at expo"
    found = crm.contact_by_handle(platform="tiktok", username=f"@{name.upper()}")
    assert found is not None
    assert found["id"] == first["id"]
    assert set(found) >= {"relationship_score", "pipeline_stage", "track", "do_not_contact"}


def test_logging_a_message_twice_records_it_once(crm):
    name = handle()
    first = crm.message_log(
        platform="instagram", username=name, text="Hi there!", direction="outbound", sent_at=WHEN
    )
    assert first["created"] is True
    again = crm.message_log(
        platform="instagram",
        username=name,
        text="hi   there!",
        direction="outbound",
        sent_at=WHEN + timedelta(seconds=20),
    )
    assert again["created"] is False
    assert again["id"] == first["id"]
    state = crm.conversation_state(platform="instagram", username=name)
    assert state["has_inbound"] is False
    assert state["last_outbound_at"].startswith("2025-06-01T12:00")
    crm.message_log(
        platform="instagram", username=name, text="thanks!", direction="inbound", sent_at=WHEN
    )
    assert crm.conversation_state(platform="instagram", username=name)["has_inbound"] is True
    contact = crm.contact_by_handle(platform="instagram", username=name)
    assert contact["total_messages_sent"] == 1
    assert contact["total_messages_received"] == 1


def test_sync_is_idempotent_and_matches_a_logged_send(crm):
    name = handle()
    crm.message_log(
        platform="twitter",
        username=name,
        text="Loved your thread",
        direction="outbound",
        sent_at=WHEN,
    )
    conversations = [
        {
            "username": name,
            "display_name": "Ben Smith",
            "messages": [
                # the platform's time for our logged send: 3 hours later, same text
                {
                    "text": "Loved your thread",
                    "is_outbound": True,
                    "sent_at": WHEN + timedelta(hours=3),
                },
                {
                    "text": "thank you! how did you find me?",
                    "direction": "inbound",
                    "sent_at": (WHEN + timedelta(hours=4)).isoformat(),
                    "id": "m2",
                },
            ],
        }
    ]
    first = crm.sync_dm(platform="twitter", conversations=conversations)
    assert first["synced"] is True
    assert first["contacts_created"] == 0
    assert first["contacts_updated"] == 1
    assert first["messages_synced"] == 2  # one new, one logged send given its platform time
    second = crm.sync_dm(platform="twitter", conversations=conversations)
    assert {
        k: second[k]
        for k in ("contacts_created", "contacts_updated", "conversations_synced", "messages_synced")
    } == {
        "contacts_created": 0,
        "contacts_updated": 0,
        "conversations_synced": 0,
        "messages_synced": 0,
    }
    contact = crm.contact_by_handle(platform="twitter", username=name)
    assert contact["total_messages_sent"] == 1
    assert contact["total_messages_received"] == 1
    assert contact["relationship_score"] > 0


def test_do_not_contact_is_reported_and_excluded_from_campaigns(crm, new_campaign):
    tag = handle()
    names = [handle(), handle()]
    for name in names:
        crm.contact_upsert(platform="instagram", username=name, fields={"tags": [tag]})
    crm.set_do_not_contact(platform="instagram", username=names[1])
    assert crm.conversation_state(platform="instagram", username=names[1])["do_not_contact"]
    campaign = new_campaign(
        name="Spring hello",
        message_templates=["Hey {first_name}, @{username}!"],
        target_criteria={"tags": [tag]},
    )
    targets = crm.campaign_targets(campaign_id=campaign, platform="instagram", limit=10)
    assert [t["username"] for t in targets] == [names[0]]
    assert targets[0]["message"] == f"Hey {names[0]}, @{names[0]}!"
    assert campaign in [c["id"] for c in crm.campaigns_active(platform="instagram")]
    assert campaign not in [c["id"] for c in crm.campaigns_active(platform="tiktok")]
    crm.campaign_record_sent(campaign_id=campaign, contact_id=targets[0]["contact"]["id"])
    assert crm.campaign_targets(campaign_id=campaign, platform="instagram", limit=10) == []
    assert crm.campaign_targets(campaign_id=campaign, platform="tiktok", limit=10) == []
    crm.set_do_not_contact(platform="instagram", username=names[1], value=False)
    assert not crm.conversation_state(platform="instagram", username=names[1])["do_not_contact"]


def test_mistakes_are_permanent_errors(crm):
    with pytest.raises(CrmError) as bad_platform:
        crm.sync_dm(platform="myspace", conversations=[])
    assert bad_platform.value.permanent is True
    assert bad_platform.value.status == 400
    assert "platform" in str(bad_platform.value)
    with pytest.raises(CrmError) as unknown:
        crm.campaign_targets(campaign_id="999999", platform="instagram", limit=1)
    assert unknown.value.status == 404
    with pytest.raises(CrmError) as no_contact:
        crm.contact_upsert(platform="myspace", username="x")
    assert no_contact.value.status == 400


def test_an_unreachable_crm_is_a_retryable_error():
    client = HttpCrmClient(base_url=f"http://127.0.0.1:{_free_port()}", api_key="k")
    with pytest.raises(CrmError) as down:
        client.contact_by_handle(platform="instagram", username="ana")
    assert down.value.permanent is False


def test_a_wrong_key_is_a_permanent_error(live_crm):
    client = HttpCrmClient(base_url=live_crm["base"], api_key="wrong")
    with pytest.raises(CrmError) as refused:
        client.conversation_state(platform="instagram", username="ana")
    assert refused.value.status == 401
    assert refused.value.permanent is True


def test_settings_choose_the_implementation():
    with override_settings(CRM_API_URL=""):
        assert isinstance(get_client(), LocalCrmClient)
    with override_settings(CRM_API_URL="http://crm:3020/", CRM_API_KEY="k"):
        client = get_client()
        assert isinstance(client, HttpCrmClient)
        assert client.base_url == "http://crm:3020"


def test_the_crm_deployment_serves_only_the_crm(live_crm):
    assert requests.get(f"{live_crm['base']}/health", timeout=5).json()["service"] == "crm"
    assert requests.get(f"{live_crm['base']}/api/scheduler/status", timeout=5).status_code == 404
    assert requests.get(f"{live_crm['base']}/admin/login/", timeout=5).status_code == 200
