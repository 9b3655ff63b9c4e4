"""Test settings: what must be fixed at import time.

django-q2 runs tasks inline (`sync`) inside the in-process tests; the end-to-end tests start
real processes with `safari_auto.settings` and their own environment instead.
"""

import tempfile
from pathlib import Path

from safari_auto.settings import *  # noqa: F403
from safari_auto.settings import Q_CLUSTER

Q_CLUSTER = {**Q_CLUSTER, "sync": True}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The real-profile simulators' sends last 35/19/10 s at scale 1: tests run them 500x faster.
SIM_DURATION_SCALE = 500.0
# Videos (the Sora simulator's too) go to a folder of the test run's own.
SORA_VIDEO_DIR = Path(tempfile.mkdtemp(prefix="safari-test-videos-"))
DM_SEND_SETTLE_SECONDS = 0.0  # the simulators' status waits for the tab; no floor needed
