"""The test process's clock runs as far ahead as TEST_CLOCK_SHIFT_HOURS asks (CI's second
integration run: 12 hours), and it still ticks; other processes keep the real clock."""

import os
import subprocess
import time

from django.utils import timezone


def test_the_clock_runs_as_far_ahead_as_asked_and_ticks():
    shift = float(os.environ.get("TEST_CLOCK_SHIFT_HOURS") or 0) * 3600
    real = float(subprocess.check_output(["date", "+%s"], text=True))  # another process's clock
    assert abs(timezone.now().timestamp() - real - shift) < 60
    before = timezone.now()
    time.sleep(0.05)
    assert timezone.now() > before
