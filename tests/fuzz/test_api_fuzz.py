"""Property-based fuzzing of every route in the served OpenAPI schema (issue 12).

Schemathesis generates valid and invalid requests from `/api/schema/` and sends them, as a
superuser with a CRM key, to the app in-process. Every answer must be documented (status,
content type, body schema) and never a 5xx; an error answer must have written nothing; SQLite
must pass `PRAGMA integrity_check` afterwards.

`FUZZ_CASES` (per operation and mode) bounds the run: small in `make test`, large in
`make fuzz`. `FUZZ_SEED` unset: the same cases every run (CI); `random`: new cases each run
(`make fuzz`); a number: replay that seed. `FUZZ_SHRINK=1` shrinks a failure to its smallest.
"""

from __future__ import annotations

import os
import re
import time
from collections import Counter
from contextlib import ExitStack

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from schemathesis import GenerationMode

from dm.simulator import InstagramDMSim, TikTokDMSim, TwitterDMSim
from tests.dm_factories import platform_sim
from tests.fuzz import ledger
from tests.fuzz.app import InProcessApp
from tests.fuzz.auth import fuzz_headers
from tests.fuzz.checks import CHECKS

CASES = int(os.environ.get("FUZZ_CASES", "12"))
SEED = os.environ.get("FUZZ_SEED")
SHRINK = os.environ.get("FUZZ_SHRINK", "0") == "1"
ONLY = re.compile(os.environ.get("FUZZ_ONLY", ""))
FIRST_ERRORS: dict[str, str] = {}
MIN_TOTAL = int(os.environ.get("FUZZ_MIN_TOTAL", "1000"))

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(max(300, CASES * 60))]


def fuzz_one(operation, mode, headers, cases: list[tuple[str, int]]) -> None:
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if SHRINK else [])

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=CASES,
        deadline=None,
        database=None,
        derandomize=not SEED,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    def run(case):
        before = ledger.snapshot()
        response = case.call(headers=headers)
        cases.append((operation.label, response.status_code))
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
            if response.status_code >= 400:
                wrote = ledger.changed(before, ledger.snapshot())
                assert not wrote, f"answered {response.status_code} and wrote {wrote}"
        except BaseException as exc:
            FIRST_ERRORS.setdefault(operation.label, describe(exc)[:3000])
            raise

    if SEED and SEED != "random":
        run = seed(int(SEED))(run)
    run()


def describe(exc: BaseException) -> str:
    """The failure and what it groups (Hypothesis and schemathesis nest them)."""
    parts = [f"{type(exc).__name__}: {exc}"]
    parts += [describe(inner) for inner in getattr(exc, "exceptions", ())]
    return "\n".join(parts)


def modes_for(operation) -> list[GenerationMode]:
    """Negative cases need something to break: a body, a query or a typed path parameter."""
    typed_path = any(
        p.definition.get("schema", {}).get("type") not in (None, "string")
        for p in operation.path_parameters
    )
    can_break = operation.body or operation.query or typed_path
    positive = [GenerationMode.POSITIVE]
    return [*positive, GenerationMode.NEGATIVE] if can_break else positive


@pytest.fixture
def dm_services(settings):
    """The DM simulators, so the routes that read a DM service live answer (not 502)."""
    sims = {"instagram": InstagramDMSim, "tiktok": TikTokDMSim, "twitter": TwitterDMSim}
    with ExitStack() as stack:
        for platform, sim in sims.items():
            stack.enter_context(platform_sim(settings, sim, platform))
        yield


def test_every_route_answers_within_its_schema_and_errors_write_nothing(dm_services):
    headers = fuzz_headers()
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json", InProcessApp(), headers=headers
    )
    failures: dict[str, str] = {}
    cases: list[tuple[str, int]] = []
    timings: dict[str, float] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if ONLY.search(op.label)]
    for operation in operations:
        for mode in modes_for(operation):
            started = time.monotonic()
            try:
                fuzz_one(operation, mode, headers, cases)
            except BaseException as exc:  # report every failing operation, not only the first
                if isinstance(exc, KeyboardInterrupt | SystemExit):
                    raise
                first = FIRST_ERRORS.get(operation.label, "")
                failures[f"{operation.label} ({mode.value})"] = describe(exc)[:2000] + first
            timings[f"{operation.label} ({mode.value})"] = time.monotonic() - started
    report = "\n\n".join(f"== {label}\n{text}" for label, text in failures.items())
    slowest = sorted(timings.items(), key=lambda item: -item[1])[:5]
    print(f"\nfuzz: {len(cases)} cases over {len(operations)} operations; slowest {slowest}")
    assert not failures, f"{len(failures)} failing operations:\n{report}"
    let_in = {label for label, code in cases if code not in (401, 403)}
    locked_out = {op.label for op in operations} - let_in
    assert not locked_out, f"the fuzzer's credentials were refused on {locked_out}"
    print(f"fuzz statuses: {sorted(Counter(code for _, code in cases).items())}")
    assert len(cases) >= min(MIN_TOTAL, CASES * len(operations))
    assert not ledger.integrity_problems()
