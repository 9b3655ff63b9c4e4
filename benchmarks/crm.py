"""CRM benchmark: `run(stdout=..., options={...})` on the configured database.

Measures, through the real API views (DRF, in process):
1. POST /api/sync/dm of N conversations with M messages, in batches of 500 (target ≤ 60 s for
   10,000 / 100,000 on SQLite);
2. the same sync again, which must answer zeros (target ≤ 30 s);
3. GET /api/contacts?search=… over C contacts (extra contacts are bulk-inserted untimed):
   p50/p95 in ms (target p95 ≤ 50 ms).

Run it on a scratch database: it writes bench contacts under a `bench<run>_` username prefix.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from django.core.management import call_command
from rest_framework.test import APIClient

from crm.auth import ApiKeyUser
from crm.models import ApiKey, Contact, PlatformAccount, SearchToken
from crm.text import search_tokens

DEFAULTS = {
    "conversations": 10_000,
    "messages": 100_000,
    "batch": 500,
    "contacts": 100_000,
    "searches": 200,
    "seed": 7,
}
QUICK = {**DEFAULTS, "conversations": 1000, "messages": 10_000, "contacts": 10_000, "searches": 50}
FIRST = ["ana", "ben", "chloe", "dmitri", "emma", "farah", "gus", "hana", "ivan", "jade"]
LAST = ["garcia", "smith", "okafor", "nguyen", "rossi", "kim", "silva", "muller", "khan", "lee"]
WORDS = ["love this", "how did you", "thanks!", "my studio", "great tip", "what app?", "cool"]


def _client() -> APIClient:
    client = APIClient(HTTP_HOST="127.0.0.1")
    client.force_authenticate(user=ApiKeyUser(ApiKey(name="bench")))  # type: ignore[arg-type]
    return client


def _payloads(opts: dict[str, Any], prefix: str, rng: random.Random) -> list[dict[str, Any]]:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    per = max(opts["messages"] // max(opts["conversations"], 1), 1)
    conversations = []
    for i in range(opts["conversations"]):
        name = f"{rng.choice(FIRST).title()} {rng.choice(LAST).title()}"
        messages = [
            {
                "text": f"{rng.choice(WORDS)} {i}-{j}",
                "direction": "inbound" if j % 2 else "outbound",
                "sent_at": (start + timedelta(minutes=i * 7 + j * 3)).isoformat(),
            }
            for j in range(per)
        ]
        conversations.append(
            {"username": f"{prefix}{i}", "display_name": name, "messages": messages}
        )
    size = opts["batch"]
    return [
        {"platform": "instagram", "conversations": conversations[k : k + size]}
        for k in range(0, len(conversations), size)
    ]


def _sync(
    client: APIClient, batches: list[dict[str, Any]], stdout: TextIO
) -> tuple[float, dict[str, int]]:
    totals: dict[str, int] = {}
    began = time.perf_counter()
    for n, payload in enumerate(batches, 1):
        answer = client.post("/api/sync/dm", payload, format="json")
        if answer.status_code != 200:
            raise RuntimeError(f"sync batch {n} answered {answer.status_code}: {answer.content!r}")
        for key, value in answer.json().items():
            if isinstance(value, int) and not isinstance(value, bool):
                totals[key] = totals.get(key, 0) + value
        if n % 5 == 0 or n == len(batches):
            stdout.write(f"  batch {n}/{len(batches)} ({time.perf_counter() - began:.1f}s)\n")
    return time.perf_counter() - began, totals


def _fill_contacts(target: int, prefix: str, rng: random.Random, stdout: TextIO) -> int:
    have = Contact.objects.count()
    missing = max(target - have, 0)
    stdout.write(f"Adding {missing} contacts (untimed) to reach {target}\n")
    now = datetime.now(tz=UTC)
    for start in range(0, missing, 5000):
        rows = []
        for i in range(start, min(start + 5000, missing)):
            name = f"{rng.choice(FIRST).title()} {rng.choice(LAST).title()}"
            rows.append(
                Contact(
                    display_name=name,
                    relationship_score=rng.randint(0, 100),
                    created_at=now,
                    updated_at=now - timedelta(seconds=i),
                )
            )
        Contact.objects.bulk_create(rows, batch_size=1000)
        SearchToken.objects.bulk_create(
            [
                SearchToken(contact=c, token=token)
                for k, c in enumerate(rows)
                for token in search_tokens(c.display_name, f"{prefix}x{start + k}")
            ],
            batch_size=2000,
        )
        PlatformAccount.objects.bulk_create(
            [
                PlatformAccount(
                    contact=c,
                    platform="tiktok",
                    username=f"{prefix}x{start + k}",
                    username_key=f"{prefix}x{start + k}",
                    is_primary=True,
                )
                for k, c in enumerate(rows)
            ],
            batch_size=1000,
        )
    return Contact.objects.count()


def _search(client: APIClient, prefix: str, count: int, rng: random.Random) -> list[float]:
    terms = [*FIRST, *LAST, "ana gar", "Smith B", "zzz-nobody", f"{prefix}12", f"@{prefix}x99"]
    timings = []
    for _ in range(count):
        term = rng.choice(terms)
        began = time.perf_counter()
        answer = client.get("/api/contacts", {"search": term, "limit": "50"})
        timings.append((time.perf_counter() - began) * 1000)
        if answer.status_code != 200:
            raise RuntimeError(f"search answered {answer.status_code}")
    return timings


def run(*, stdout: TextIO, options: dict[str, Any]) -> dict[str, Any]:
    call_command("migrate", verbosity=0)  # a fresh bench database needs the tables
    sizes = QUICK if options.get("quick") else DEFAULTS
    opts = {**sizes, **{k: v for k, v in options.items() if k in DEFAULTS and v is not None}}
    rng = random.Random(opts["seed"])
    prefix = f"zq{uuid.uuid4().hex[:6]}_"
    client = _client()
    batches = _payloads(opts, prefix, rng)
    n_messages = sum(len(c["messages"]) for b in batches for c in b["conversations"])
    stdout.write(f"Sync: {opts['conversations']} conversations, {n_messages} messages\n")
    first_s, first = _sync(client, batches, stdout)
    stdout.write(f"First sync {first_s:.1f}s: {first}\nRe-running the same sync\n")
    second_s, second = _sync(client, batches, stdout)
    stdout.write(f"Re-sync {second_s:.1f}s: {second}\n")
    contacts = _fill_contacts(opts["contacts"], prefix, rng, stdout)
    _search(client, prefix, 10, rng)  # warm caches
    timings = sorted(_search(client, prefix, opts["searches"], rng))
    p95 = timings[max(int(len(timings) * 0.95) - 1, 0)]
    figures = {
        "conversations": opts["conversations"],
        "messages": n_messages,
        "sync_seconds": round(first_s, 2),
        "sync_counts": first,
        "resync_seconds": round(second_s, 2),
        "resync_counts": second,
        "resync_idempotent": all(v == 0 for k, v in second.items() if k != "sync_id"),
        "contacts": contacts,
        "search_p50_ms": round(statistics.median(timings), 2),
        "search_p95_ms": round(p95, 2),
        "search_max_ms": round(timings[-1], 2),
        "targets": {"sync_seconds": 60, "resync_seconds": 30, "search_p95_ms": 50},
    }
    figures["ok"] = (
        figures["sync_seconds"] <= 60
        and figures["resync_seconds"] <= 30
        and figures["search_p95_ms"] <= 50
        and figures["resync_idempotent"]
    )
    stdout.write(f"Search p50 {figures['search_p50_ms']} ms, p95 {figures['search_p95_ms']} ms\n")
    return figures
