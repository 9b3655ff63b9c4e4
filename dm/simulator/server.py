"""A simulated service as a real HTTP server (the shared `safari_auto.simserver` base).

The server only parses requests and writes replies; what to answer is the service's job
(`SimService.handle`). A reply of `DROP` closes the socket without answering, which is how a
service that crashed after delivering looks from the client's side.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Self

from safari_auto.simserver import DROP, JsonServer, Reply, Request

if TYPE_CHECKING:
    from .service import SimService

__all__ = ["DROP", "Reply", "Request", "SimServer"]


class SimServer(JsonServer):
    """One simulated service listening on host:port (port 0 picks a free one at start)."""

    def __init__(self, service: SimService, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(service.handle, name=service.key, host=host, port=port)
        self.service = service

    def start(self) -> Self:
        super().start()
        if hasattr(self.service, "outage"):
            self.service.outage = self.outage  # a service that can crash takes itself down
        return self
