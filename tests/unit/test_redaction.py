"""Secrets are masked wherever text leaves the process: error reports, logs, error messages."""

from __future__ import annotations

import logging
import socket

import pytest
from django.views.debug import get_default_exception_reporter_filter

from safari_auto.http import ServiceError, call
from safari_auto.redaction import RedactingFormatter, redact_text, url_origin, url_without_secrets

HOOK = "https://alerts:hunter22@hooks.example.com:8443/services/T0/B0/s3cr3tPath?sig=abc123xyz#f"
DB = "postgres://safari:db-pass-9876@db.internal:5432/safari_auto"
REDIS = "redis://:redis-pass-5432@cache.internal:6379/0"


@pytest.fixture
def secrets(settings):
    settings.ALERT_WEBHOOK_URL = HOOK
    settings.DATABASE_URL = DB
    settings.REDIS_URL = REDIS
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "x", "CONFIG": {"hosts": [REDIS]}}}
    settings.SERVICE_TOKENS = {"tiktok_comments": "tok-abcdef123"}
    settings.CRM_API_KEY = "crm_key_0123456789"
    return settings


def test_a_destination_is_named_by_its_origin_only():
    assert url_origin(HOOK) == "https://hooks.example.com:8443"
    assert url_origin("http://[::1]:3002/x?y=1") == "http://[::1]:3002"
    assert url_origin("not a url") == "(invalid URL)"


def test_a_service_url_keeps_its_path_but_loses_credentials_and_query():
    assert url_without_secrets(HOOK) == "https://hooks.example.com:8443/services/T0/B0/s3cr3tPath"


def test_error_reports_hide_every_setting_that_holds_a_secret(secrets):
    shown = repr(get_default_exception_reporter_filter().get_safe_settings())
    for secret in ("hunter22", "s3cr3tPath", "db-pass-9876", "redis-pass-5432", "tok-abcdef123"):
        assert secret not in shown
    assert "crm_key_0123456789" not in shown
    assert secrets.SECRET_KEY not in shown


def test_text_is_masked_by_value_and_any_url_loses_its_credentials(secrets):
    text = f"posting to {HOOK} failed; db {DB}; other http://bob:pw12@example.org/x"
    masked = redact_text(text)
    assert "hunter22" not in masked
    assert "s3cr3tPath" not in masked
    assert "db-pass-9876" not in masked
    assert "pw12" not in masked
    assert "http://********@example.org/x" in masked


def test_log_lines_and_tracebacks_never_carry_a_secret(secrets):
    formatter = RedactingFormatter("%(message)s")
    try:
        raise RuntimeError(f"cannot reach {REDIS}")
    except RuntimeError:
        import sys

        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "hook %s", (HOOK,), sys.exc_info()
        )
    line = formatter.format(record)
    assert "hunter22" not in line
    assert "s3cr3tPath" not in line
    assert "redis-pass-5432" not in line
    assert "RuntimeError" in line


def test_a_service_error_names_the_url_without_its_credentials_or_query():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once we leave: nothing listens
    with pytest.raises(ServiceError) as caught:
        call("GET", f"http://user:pw-777777@127.0.0.1:{port}/api/x?token=tok-999999", timeout=1)
    text = f"{caught.value} {caught.value.url} {caught.value.reason}"
    assert f"http://127.0.0.1:{port}/api/x" in text
    assert "pw-777777" not in text
    assert "tok-999999" not in text
