"""The alert webhook's URL comes from settings only and never shows anywhere."""

from __future__ import annotations

import importlib
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.apps import apps

from scheduler import services
from scheduler.dispatcher import Dispatcher
from scheduler.models import Event, Task

pytestmark = pytest.mark.django_db
SECRET_PATH = "/services/T0/B0/s3cr3tPath"


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((self.path, json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        """Quiet: the test reads what was received, not the server's log."""


@pytest.fixture
def hook_server():
    servers = []

    def start():
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
        server.received = []
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fail_a_task_and_run_its_alert(run_on_commit) -> Task:
    services.task_schedule(type="check", payload={"fail": "x", "permanent": True})
    run_on_commit(Dispatcher(name="d1").cycle)
    hook = Task.objects.get(type="webhook")
    run_on_commit(Dispatcher(name="d1").cycle)
    hook.refresh_from_db()
    return hook


def test_the_alert_task_carries_the_alert_body_only(run_on_commit, settings, hook_server):
    server = hook_server()
    settings.ALERT_WEBHOOK_URL = f"http://127.0.0.1:{server.server_port}{SECRET_PATH}?sig=zz9"
    hook = _fail_a_task_and_run_its_alert(run_on_commit)
    assert hook.status == "completed"
    assert "s3cr3tPath" not in json.dumps(hook.payload)
    assert hook.payload["event"] == "task.failed"
    assert server.received == [(f"{SECRET_PATH}?sig=zz9", hook.payload)]


def test_a_webhook_task_never_posts_to_a_url_from_its_payload(run_on_commit, settings, hook_server):
    configured, elsewhere = hook_server(), hook_server()
    settings.ALERT_WEBHOOK_URL = f"http://127.0.0.1:{configured.server_port}/hook"
    task, _ = services.task_schedule(
        type="webhook",
        payload={"url": f"http://127.0.0.1:{elsewhere.server_port}/x", "body": {"a": 1}},
    )
    run_on_commit(Dispatcher(name="d1").cycle)
    task.refresh_from_db()
    assert elsewhere.received == []
    assert len(configured.received) == 1


def test_a_failed_delivery_names_the_webhook_by_its_origin_only(api, run_on_commit, settings):
    port = _closed_port()
    settings.ALERT_WEBHOOK_URL = f"http://bot:pw-8888@127.0.0.1:{port}{SECRET_PATH}?sig=zz9"
    hook = _fail_a_task_and_run_its_alert(run_on_commit)
    assert f"the alert webhook (http://127.0.0.1:{port})" in hook.error
    shown = [
        hook.error,
        json.dumps(list(Event.objects.values("message", "data")), default=str),
        api.get(f"/api/scheduler/task/{hook.pk}").content.decode(),
        api.get("/api/scheduler/queue").content.decode(),
    ]
    for text in shown:
        assert "s3cr3tPath" not in text
        assert "pw-8888" not in text
        assert "zz9" not in text


def test_the_migration_strips_urls_from_existing_webhook_tasks():
    url = f"https://hooks.example.com{SECRET_PATH}"
    task = Task.objects.create(
        type="webhook",
        name="alert",
        payload={"url": url, "body": {"event": "task.failed"}},
        error=f"{url}: cannot connect (ConnectionError)",
    )
    Event.objects.create(kind="task.failed", task_id=task.pk, message=f"{url}: cannot connect")
    migration = importlib.import_module("scheduler.migrations.0004_webhook_urls_out_of_payloads")
    migration.strip_webhook_urls(apps, None)  # data only: no schema editor needed
    task.refresh_from_db()
    assert task.payload == {"event": "task.failed"}
    assert "s3cr3tPath" not in task.error
    assert "s3cr3tPath" not in Event.objects.get(task_id=task.pk).message
