"""Settings for Safari Auto, read from the environment.

Every variable is documented in `.env.example`. The embedded default needs nothing but
Python (SQLite, django-q2's ORM broker, the in-memory channel layer); `DATABASE_URL` and
`REDIS_URL` switch to the scale-out profile (Postgres, django-q2's Redis broker, channels-redis).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from safari_auto import demo
from safari_auto.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_seconds_by_name,
    env_secret,
    env_str,
    env_timeouts,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "data")))

PLACEHOLDER_SECRET = "dev-only-insecure-secret-change-me"  # noqa: S105

SAFARI_ENV = env_str("SAFARI_ENV", "development")  # development | production
if SAFARI_ENV not in ("development", "production"):
    raise ImproperlyConfigured(f"SAFARI_ENV must be development or production, got {SAFARI_ENV!r}")
SAFARI_ROLE = env_str("SAFARI_ROLE", "all")  # all | crm (the CRM as its own deployment)
# DEBUG is off unless asked for, and even then only a local superuser sees technical pages
# (safari_auto/debugpages.py).
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_secret(
    "SECRET_KEY", placeholder=PLACEHOLDER_SECRET, required=SAFARI_ENV == "production"
)
if SAFARI_ENV == "production" and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off in production (SAFARI_ENV).")

DEMO = env_bool("DEMO", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list(
    "CSRF_TRUSTED_ORIGINS", ["http://127.0.0.1:3010", "http://localhost:3010"]
)

CORE_APPS = [
    "daphne",
    "safari_auto.apps.SafariAdminConfig",  # django.contrib.admin, asking for a role too
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "axes",
    "drf_spectacular",
    "channels",
]
if SAFARI_ROLE == "crm":
    INSTALLED_APPS = [*CORE_APPS, "safari_auto", "crm"]
    ROOT_URLCONF = "safari_auto.urls_crm"
else:
    INSTALLED_APPS = [
        *CORE_APPS,
        "safari_auto",
        "django_q",
        "scheduler",
        "crm",
        "dm",
        "sora",
        "dashboard",
    ]
    ROOT_URLCONF = "safari_auto.urls"

MIDDLEWARE = [
    "safari_auto.middleware.RequestGuardMiddleware",
    "safari_auto.debugpages.TechnicalPagesGate",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "safari_auto.context_processors.demo",
            ],
        },
    },
]

WSGI_APPLICATION = None
ASGI_APPLICATION = "safari_auto.asgi.application"

# --- Database ----------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
# Daphne runs each request's sync code in a thread of its own, so a connection kept open after
# a request is never used again: it leaks, a file descriptor or a Postgres backend per request.
# Under ASGI (set by asgi.py) connections close with their request, and Postgres hands them
# out of a pool; the dispatcher and the workers keep theirs open.
UNDER_ASGI = env_bool("SAFARI_ASGI")
SQLITE_PATH = Path(env_str("SQLITE_PATH", str(DATA_DIR / "safari_auto.sqlite3")))
if DATABASE_URL:
    DATABASES: dict[str, Any] = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=0 if UNDER_ASGI else 60)
    }
    DATABASES["default"]["TEST"] = {"NAME": env_str("DATABASE_TEST_NAME") or None}
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        options = DATABASES["default"].setdefault("OPTIONS", {})
        # Short OLTP queries only: JIT compiling one costs more than running it.
        options.setdefault("options", "-c jit=off")
        if UNDER_ASGI:
            options["pool"] = {"min_size": 2, "max_size": env_int("WEB_DB_POOL_SIZE", 20)}
else:
    DATABASES = {
        "default": {
            "ENGINE": env_str("SQLITE_ENGINE", "safari_auto.sqlite"),
            "NAME": SQLITE_PATH,
            # Reopening runs the PRAGMAs again: long-lived processes keep theirs open.
            "CONN_MAX_AGE": 0 if UNDER_ASGI else None,
            "OPTIONS": {
                "timeout": env_int("SQLITE_BUSY_TIMEOUT_SECONDS", 30),
                "transaction_mode": "IMMEDIATE",
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA temp_store=MEMORY;"
                ),
                # Under ASGI a request's connection goes back to a pool of this process
                # (safari_auto/sqlite/base.py) instead of closing.
                **({"pool": env_int("WEB_DB_POOL_SIZE", 20)} if UNDER_ASGI else {}),
            },
            "TEST": {"NAME": env_str("SQLITE_TEST_PATH", "") or None},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Broker, channel layer ---------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS: dict[str, Any] = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Safari hosts and the scheduler ------------------------------------------------------
# Each Safari host (one Mac) runs its own django-q2 cluster; the dispatcher routes each task
# to the cluster of the host it needs.
SAFARI_HOSTS = env_list("SAFARI_HOSTS", ["local"])
SAFARI_HOST = env_str("SAFARI_HOST", SAFARI_HOSTS[0])  # the host this process serves
Q_CLUSTER_PREFIX = env_str("Q_CLUSTER_PREFIX", "safari")

# Workers per Safari host. Ordinary work (not Safari-exclusive, priority 3-5) has a django-q2
# cluster of Q_WORKERS workers, where its packages queue; SCHEDULER_RESERVED_WORKERS more, in a
# cluster of their own, are kept for Safari work and urgent tasks (priority 1-2), so these always
# find a worker however long the ordinary work runs: by default 2 (one for Safari, one for urgent
# work). 0: one cluster of Q_WORKERS runs everything (fastest for short work, no guarantee).
# `manage.py workers` starts each pool's cluster; SAFARI_WORKER_POOL tells a cluster which it is.
Q_WORKERS = env_int("Q_WORKERS", 4)
if Q_WORKERS < 1:
    raise ImproperlyConfigured(f"Q_WORKERS must be at least 1, got {Q_WORKERS}")
RESERVED_WORKERS = env_int("SCHEDULER_RESERVED_WORKERS", 2)
if RESERVED_WORKERS < 0:
    raise ImproperlyConfigured(
        f"SCHEDULER_RESERVED_WORKERS must be 0 or more (0: no workers kept), got {RESERVED_WORKERS}"
    )
WORKER_POOL = env_str("SAFARI_WORKER_POOL", "main")
if WORKER_POOL not in ("main", "ordinary") or (WORKER_POOL == "ordinary" and not RESERVED_WORKERS):
    raise ImproperlyConfigured(
        f"SAFARI_WORKER_POOL must be main, or ordinary with workers reserved; got {WORKER_POOL}"
    )
WORKER_POOL_WORKERS = RESERVED_WORKERS if WORKER_POOL == "main" and RESERVED_WORKERS else Q_WORKERS

SCHEDULER = {
    "LEADER_LEASE_SECONDS": env_float("SCHEDULER_LEADER_LEASE_SECONDS", 10.0),
    "CLAIM_LEASE_SECONDS": env_float("SCHEDULER_CLAIM_LEASE_SECONDS", 120.0),
    "HEARTBEAT_SECONDS": env_float("SCHEDULER_HEARTBEAT_SECONDS", 5.0),
    "HEARTBEAT_TIMEOUT_SECONDS": env_float("SCHEDULER_HEARTBEAT_TIMEOUT_SECONDS", 30.0),
    # Host liveness: each host's supervisor (`manage.py workers`) beats every HOST_BEAT_SECONDS;
    # a host silent for HOST_LEASE_SECONDS is offline. STOP_GRACE_SECONDS bounds a clean stop
    # of the cluster before the supervisor kills it.
    "HOST_BEAT_SECONDS": env_float("SCHEDULER_HOST_BEAT_SECONDS", 2.0),
    "HOST_LEASE_SECONDS": env_float("SCHEDULER_HOST_LEASE_SECONDS", 10.0),
    "STOP_GRACE_SECONDS": env_float("SCHEDULER_STOP_GRACE_SECONDS", 20.0),
    # A cluster with a worker free that starts none of the work it was sent for this long is
    # frozen (django-q2 issue #23) and restarted by its supervisor; 0 turns the check off.
    "FREEZE_SECONDS": env_float("SCHEDULER_FREEZE_SECONDS", 15.0),
    "POLL_SECONDS": env_float("SCHEDULER_POLL_SECONDS", 0.05),
    # On Postgres a notification wakes the dispatcher; this slower poll is the safety net.
    "NOTIFY_POLL_SECONDS": env_float("SCHEDULER_NOTIFY_POLL_SECONDS", 2.0),
    "MAX_SLEEP_SECONDS": env_float("SCHEDULER_MAX_SLEEP_SECONDS", 5.0),
    "DISPATCH_BATCH": env_int("SCHEDULER_DISPATCH_BATCH", 50),
    "MAX_INFLIGHT": env_int("SCHEDULER_MAX_INFLIGHT", 64),
    "CYCLE_GAP_SECONDS": env_float("SCHEDULER_CYCLE_GAP_SECONDS", 0.02),
    "BACKOFF_BASE_SECONDS": env_float("SCHEDULER_BACKOFF_BASE_SECONDS", 30.0),
    "BACKOFF_CAP_SECONDS": env_float("SCHEDULER_BACKOFF_CAP_SECONDS", 3600.0),
    "DEFAULT_MAX_RETRIES": env_int("SCHEDULER_DEFAULT_MAX_RETRIES", 3),
    # The timeout of a task type that names none; every attempt is ended at its timeout.
    "DEFAULT_TIMEOUT_SECONDS": env_int("SCHEDULER_DEFAULT_TIMEOUT_SECONDS", 900),
    "RESERVED_WORKERS": RESERVED_WORKERS,
    "RETENTION_DAYS": env_int("RETENTION_DAYS", 30),
}
# Per task type, over its registered timeout: "check=600,sora=7200".
TASK_TIMEOUTS = env_seconds_by_name("SCHEDULER_TASK_TIMEOUTS")
if SCHEDULER["DEFAULT_TIMEOUT_SECONDS"] < 1:
    raise ImproperlyConfigured("SCHEDULER_DEFAULT_TIMEOUT_SECONDS must be at least 1 second")
ALERT_WEBHOOK_URL = env_str("ALERT_WEBHOOK_URL")

# --- django-q2: the executor only --------------------------------------------------------
# Retries, backoff and crash recovery are ours: ack_failures on, max_attempts 1, and retry
# longer than the longest task timeout so the broker never re-delivers a running package.
Q_CLUSTER: dict[str, Any] = {
    # One name for the whole site (django-q2 signs packages with it: a dispatcher on one host
    # enqueues for another host's cluster), one queue per host (`cluster_name`, the list this
    # host's cluster reads; scheduler.packages.cluster_for).
    "name": Q_CLUSTER_PREFIX,
    "cluster_name": f"{Q_CLUSTER_PREFIX}-{SAFARI_HOST}"
    + ("" if WORKER_POOL == "main" else f"-{WORKER_POOL}"),
    "workers": WORKER_POOL_WORKERS,
    "recycle": 500,
    "timeout": env_int("Q_TIMEOUT_SECONDS", 3600),
    "retry": env_int("Q_TIMEOUT_SECONDS", 3600) + 600,
    "max_attempts": 1,
    "ack_failures": True,
    "save_limit": env_int("Q_SAVE_LIMIT", 250),
    "catch_up": False,
    "poll": env_float("Q_POLL_SECONDS", 0.05),
    "bulk": env_int("Q_BULK", 4),
    "queue_limit": env_int("Q_QUEUE_LIMIT", 16),
    "label": "Executor",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["broker_class"] = "scheduler.broker.PollingORM"

# --- The automation services we drive ----------------------------------------------------
# With DEMO on, every base URL is its simulator's (127.0.0.1, the real port + the offset, 1000
# unless SIM_PORT_OFFSET moves the range for tests); a service variable that names anything
# else stops start-up (safari_auto/demo.py). `simulate` listens on the same offset.
SIM_PORT_OFFSET = env_int("SIM_PORT_OFFSET", demo.SIM_PORT_OFFSET)
SERVICE_URLS = demo.service_urls(os.environ, demo=DEMO, offset=SIM_PORT_OFFSET)
# The comment services' own default tokens (each service reads its own; TikTok's has no auth
# unless one is set, and an empty token sends no Authorization header).
SERVICE_TOKENS = {
    "threads_comments": env_str("THREADS_COMMENTS_TOKEN", "threads-local-dev-token"),
    "instagram_comments": env_str("INSTAGRAM_COMMENTS_TOKEN", "test-token"),
    "tiktok_comments": env_str("TIKTOK_COMMENTS_TOKEN", ""),
    "twitter_comments": env_str("TWITTER_COMMENTS_TOKEN", "test-token-12345"),
}
# How long a comment post may take before its outcome is unknown. Posts wait inside the request
# (5-12 s, 14-20 s on a real Mac); Instagram and Threads answer 504 themselves at 30 s, so
# their timeout outlasts that 504 and the answer is read rather than timed out.
COMMENT_POST_TIMEOUTS = {
    "threads_comments": env_float("THREADS_COMMENTS_POST_TIMEOUT_SECONDS", 45.0),
    "instagram_comments": env_float("INSTAGRAM_COMMENTS_POST_TIMEOUT_SECONDS", 45.0),
    "tiktok_comments": env_float("TIKTOK_COMMENTS_POST_TIMEOUT_SECONDS", 40.0),
    "twitter_comments": env_float("TWITTER_COMMENTS_POST_TIMEOUT_SECONDS", 40.0),
}
COMMENT_READ_TIMEOUT_SECONDS = env_float("COMMENT_READ_TIMEOUT_SECONDS", 10.0)
# Discovery: a candidate qualifies at this score when the service does not say (X, Instagram).
DISCOVERY_MIN_SCORE = env_float("DISCOVERY_MIN_SCORE", 50.0)
HTTP_TIMEOUT_SECONDS = env_float("HTTP_TIMEOUT_SECONDS", 30.0)
HTTP_CONNECT_TIMEOUT_SECONDS = env_float("HTTP_CONNECT_TIMEOUT_SECONDS", 3.0)
SIM_TIME_SCALE = env_float("SIM_TIME_SCALE", 1.0)
# Simulators: "real" behaves as the real services do (CONTRACTS.md), "kind" answers at once.
SIM_PROFILE = env_str("SIM_PROFILE", "real")
# How much faster than the real services a simulated send runs (default: SIM_TIME_SCALE).
SIM_DURATION_SCALE = env_float("SIM_DURATION_SCALE", 0.0)
# Simulators: a folder where each service journals its deliveries, so a killed and restarted
# simulator still counts them (the chaos suite's "drop a simulator"); empty: memory only.
SIM_JOURNAL_DIR = env_str("SIM_JOURNAL_DIR", "")

# Read timeouts per service and call kind, in seconds. A send waits inside the service: TikTok
# about 35 s with an instant Safari and 60 s on a real Mac, Instagram 19-27 s, X 10-18 s; a
# read opens the conversation in Safari; status answers once the tab is free. Override with
# SERVICE_TIMEOUTS="tiktok_dm.send=180,twitter_dm.read=20". Other services use
# HTTP_TIMEOUT_SECONDS.
SERVICE_TIMEOUTS = env_timeouts(
    "SERVICE_TIMEOUTS",
    {
        "tiktok_dm": {"send": 150.0, "read": 60.0, "status": 20.0},
        "instagram_dm": {"send": 90.0, "read": 45.0, "status": 20.0},
        "twitter_dm": {"send": 60.0, "read": 30.0, "status": 20.0},
    },
)
# After a lost answer, how long a send may still be driving the service's tab: the handler
# waits (holding Safari) until the service answers a status call, at most this long.
DM_IDLE_WAIT_SECONDS = env_float("DM_IDLE_WAIT_SECONDS", 180.0)
# A lost answer is read back only once a send begun this long ago can no longer be typing: a
# service may answer status from its front tab while its send still runs (TikTok's takes ~60 s).
DM_SEND_SETTLE_SECONDS = env_float("DM_SEND_SETTLE_SECONDS", 90.0)

# --- DM and platforms -------------------------------------------------------------------
# Limits per (account, action): "platform:action=hourly/daily/mingap-maxgap" entries override
# the CONTRACTS.md defaults, e.g. DM_LIMITS="twitter:dm=10/80/120-300,tiktok:comment=3/10/200-400".
DM_LIMITS = env_list("DM_LIMITS", [])
DM_ACTIVE_START = env_str("DM_ACTIVE_START", "09:00")  # new accounts' active hours (local)
DM_ACTIVE_END = env_str("DM_ACTIVE_END", "21:00")
DM_ACCOUNT_TIME_ZONE = env_str("DM_ACCOUNT_TIME_ZONE", env_str("TIME_ZONE", "UTC"))
# Extra accounts beside each host's default one: "platform:handle@host" (host optional).
DM_ACCOUNTS = env_list("DM_ACCOUNTS", [])
DM_COLD_COOLDOWN_DAYS = env_int("DM_COLD_COOLDOWN_DAYS", 7)
DM_WARMUP_START_PERCENT = env_int("DM_WARMUP_START_PERCENT", 30)
DM_WARMUP_DAILY_PERCENT = env_int("DM_WARMUP_DAILY_PERCENT", 10)
DM_WARMUP_DEFAULT_ACCOUNTS = env_bool("DM_WARMUP_DEFAULT_ACCOUNTS", False)
DM_COOLDOWN_BASE_SECONDS = env_float("DM_COOLDOWN_BASE_SECONDS", 1800.0)
DM_COOLDOWN_CAP_SECONDS = env_float("DM_COOLDOWN_CAP_SECONDS", 86400.0)
# A dispatcher taking the lead probes every DM service and reads Sora's credits.
PROBE_ON_LEAD = env_bool("PROBE_ON_LEAD", True)
DM_PROBE_INTERVAL_SECONDS = env_float("DM_PROBE_INTERVAL_SECONDS", 300.0)  # while up
DM_PROBE_BACKOFF_BASE_SECONDS = env_float("DM_PROBE_BACKOFF_BASE_SECONDS", 60.0)
DM_PROBE_BACKOFF_CAP_SECONDS = env_float("DM_PROBE_BACKOFF_CAP_SECONDS", 3600.0)
# Inbox sync and campaign outreach inside the window; the demo runs both every minute so
# replies and sends show within a minute of `make run`.
DM_SYNC_CRON = env_str("DM_SYNC_CRON", "* * * * *" if DEMO else "0 * * * *")
DM_OUTREACH_CRON = env_str("DM_OUTREACH_CRON", "* * * * *" if DEMO else "*/10 * * * *")
DM_SEND_MAX_RETRIES = env_int("DM_SEND_MAX_RETRIES", 5)
# After a DM goes out, sync that inbox this many seconds later to catch a quick answer
# (0: the scheduled sync is enough; the demo looks 15 s later, its contacts answer in 5).
DM_REPLY_CHECK_SECONDS = env_float("DM_REPLY_CHECK_SECONDS", 15.0 if DEMO else 0.0)

# --- CRM ---------------------------------------------------------------------------------
CRM_API_URL = env_str("CRM_API_URL")  # empty: the CRM in this process (ORM); else HTTP
CRM_API_KEY = env_str("CRM_API_KEY")

# --- Sora --------------------------------------------------------------------------------
SORA_HOLD_SAFARI_FOR_GENERATION = env_bool("SORA_HOLD_SAFARI_FOR_GENERATION", False)
SORA_POLL_SECONDS = env_float("SORA_POLL_SECONDS", 15.0)
# Finished videos are served only from inside this folder (the resolved path, symlinks
# followed); the Sora service must save its videos here.
SORA_VIDEO_DIR = Path(env_str("SORA_VIDEO_DIR", str(DATA_DIR / "videos")))

# --- Auth, REST --------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "/admin/login/"
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "safari_auto.tokens.TokenAuthentication",
    ],
    # Deny unless the view declares its role (safari_auto/permissions.py).
    "DEFAULT_PERMISSION_CLASSES": ["safari_auto.permissions.DeclareARole"],
    "DEFAULT_SCHEMA_CLASS": "safari_auto.schema.AutoSchema",
    "EXCEPTION_HANDLER": "safari_auto.api.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "safari_auto.parsers.JSONParser",
        "safari_auto.parsers.FormParser",
        "safari_auto.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Safari Auto API",
    "DESCRIPTION": "Scheduler, platforms, Sora and CRM of Safari Auto.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["safari_auto.permissions.ViewerReadsOperatorWrites"],
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Internationalisation, static --------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {
            "class": "safari_auto.redaction.RedactingFormatter",  # no secret reaches a log
            "format": "%(asctime)s %(levelname)s %(name)s: %(message)s",
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django-q": {"level": env_str("Q_LOG_LEVEL", "WARNING")},
        "axes": {"level": "WARNING"},  # lockouts, not every login
    },
}

# --- Security: error reports, API tokens, login throttling, HTTPS (issue 12) ------------
# Error reports (technical pages, logged reports) hide every secret, by name or by value.
DEFAULT_EXCEPTION_REPORTER_FILTER = "safari_auto.redaction.SafeReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "safari_auto.debugpages.GatedExceptionReporter"
# API tokens are stored as SHA-512 digests (django-rest-knox); scripts still send
# `Authorization: Token <token>`. Tokens do not expire unless created with an expiry.
REST_KNOX = {"AUTH_HEADER_PREFIX": "Token", "TOKEN_TTL": None, "AUTO_REFRESH": False}
# The admin login is throttled (django-axes): after AXES_FAILURE_LIMIT failures for one
# username from one address, that pair is refused for AXES_COOLOFF_MINUTES.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failures and lockouts only; no row per successful login
# HTTPS in production: secure cookies, HSTS, redirects. Behind a TLS proxy, set
# SECURE_PROXY_SSL_HEADER to the header it sets (e.g. HTTP_X_FORWARDED_PROTO).
_HTTPS = SAFARI_ENV == "production"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", _HTTPS)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", _HTTPS)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", _HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^health$"]  # local liveness probes speak plain HTTP
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if _HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", _HTTPS)
# Preloading is a promise to browser vendors that is slow to take back: opt in explicitly.
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
if env_str("SECURE_PROXY_SSL_HEADER"):
    SECURE_PROXY_SSL_HEADER = (env_str("SECURE_PROXY_SSL_HEADER"), "https")
