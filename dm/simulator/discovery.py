"""What the simulated DM services answer to prospect discovery, per platform and profile.

The `real` profile answers in each real service's own words (CONTRACTS.md "Discovery"):
Instagram sends `{username, fullName, icpScore, icpSignals, ...}` with no `qualifies`; TikTok
sends `{username, displayName, score, signals, qualifies, source}`; X finds nobody whatever is
sent, and a run that is not a dry run needs a spare x.com tab, which the simulated Safari never
has (503). The `kind` profile gives every platform TikTok's shape.
"""

from __future__ import annotations

from typing import Any

from .server import Reply
from .service import error, ok


def _score(number: int) -> int:
    return 90 - 7 * number


def _kind(platform: str, number: int, min_score: int) -> dict[str, Any]:
    return {
        "username": f"{platform}_prospect_{number}",
        "displayName": f"Prospect {number}",
        "score": _score(number),
        "signals": ["creator", "posts weekly"],
        "qualifies": _score(number) >= min_score,
        "source": "simulator",
    }


def _icp(platform: str, number: int) -> dict[str, Any]:
    return {
        "username": f"{platform}_prospect_{number}",
        "fullName": f"Prospect {number}",
        "icpScore": _score(number),
        "icpSignals": ["creator", "posts weekly"],
        "followers": 1000 * number,
        "inCRM": False,
    }


def discover(platform: str, profile: str, criteria: dict[str, Any]) -> Reply:
    count = int(criteria.get("maxCandidates") or 5)
    min_score = int(criteria.get("minScore") or 50)
    numbers = range(1, count + 1)
    if profile != "real" or platform == "tiktok":
        candidates = [_kind(platform, n, min_score) for n in numbers]
    elif platform == "twitter":
        if not criteria.get("dryRun"):
            return error(503, "No spare x.com tab to run discovery in")
        candidates = []
    else:
        candidates = [_icp(platform, n) for n in numbers]
    return ok({"candidates": candidates, "total": len(candidates)})
