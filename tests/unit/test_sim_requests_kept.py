"""A simulator keeps its deliveries (they are the service's state and the suites' duplicate
count) but only the last calls of its request log: a soak makes tens of thousands."""

from dm.simulator.dm_services import TwitterDMSim
from dm.simulator.service import REQUESTS_KEPT
from safari_auto.simserver import Request


def test_the_request_log_keeps_the_last_calls_only() -> None:
    service = TwitterDMSim()
    for n in range(REQUESTS_KEPT + 10):
        service.handle(Request("GET", "/health", {"n": str(n)}, None, {}))
    seen = service.handle(Request("GET", "/_sim/requests", {}, None, {})).body
    assert len(seen) == REQUESTS_KEPT
    assert seen[0]["query"] == {"n": "10"}
