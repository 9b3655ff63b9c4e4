"""Fail when any app's line coverage is under the floor (the PRD's success criterion 6)."""

import json
import subprocess
import sys
from collections import defaultdict

FLOOR = 80.0
APPS = ("safari_auto", "scheduler", "dm", "crm", "sora", "dashboard")

subprocess.run([sys.executable, "-m", "coverage", "json", "-q", "-o", "coverage.json"], check=True)
with open("coverage.json") as handle:
    files = json.load(handle)["files"]
covered: dict[str, int] = defaultdict(int)
statements: dict[str, int] = defaultdict(int)
for path, info in files.items():
    app = path.split("/", 1)[0]
    if app in APPS:
        covered[app] += info["summary"]["covered_lines"]
        statements[app] += info["summary"]["num_statements"]
failed = False
for app in APPS:
    if not statements[app]:
        continue
    percent = 100.0 * covered[app] / statements[app]
    mark = "ok " if percent >= FLOOR else "LOW"
    print(f"{mark} {app:<12} {percent:5.1f}%  ({covered[app]}/{statements[app]} lines)")
    failed |= percent < FLOOR
if failed:
    print(f"coverage below {FLOOR:.0f}% in at least one app")
    sys.exit(1)
