"""Did the request leave? The HTTP seam says so on its error, from what actually failed.

Real sockets, no mocks: a refused connection and a name that does not resolve never sent
anything; a read timeout or a connection dropped after the request was written may have.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests

from dm.clients import SendOutcomeUnknown, TwitterDMClient
from safari_auto.http import ServiceError, call, request_left


def _free_port() -> int:
    """A port nothing listens on: bound, then closed, so connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _server(behaviour: str) -> Iterator[str]:
    """A one-connection server that reads the request, then `hang`s or `drop`s it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    done = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)  # the request has arrived
            if behaviour == "hang":
                done.wait(5)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        done.set()
        thread.join(5)
        listener.close()


def _failure(url: str, timeout: float = 2) -> ServiceError:
    with pytest.raises(ServiceError) as caught:
        call("POST", url + "/api/send", json={"text": "hi"}, timeout=timeout)
    return caught.value


def test_a_refused_connection_never_left():
    error = _failure(f"http://127.0.0.1:{_free_port()}")

    assert error.request_left is False
    assert isinstance(error.__cause__, requests.ConnectionError)


def test_a_name_that_does_not_resolve_never_left():
    assert _failure("http://no-such-host.invalid").request_left is False


def test_a_read_timeout_may_have_left():
    with _server("hang") as url:
        error = _failure(url, timeout=0.3)

    assert error.request_left is True
    assert isinstance(error.__cause__, requests.ReadTimeout)


def test_a_connection_dropped_after_the_request_may_have_left():
    with _server("drop") as url:
        error = _failure(url)

    assert error.request_left is True
    assert isinstance(error.__cause__, requests.ConnectionError)


def test_a_request_that_cannot_be_built_never_left():
    assert request_left(requests.exceptions.InvalidURL("bad")) is False
    assert request_left(requests.exceptions.ChunkedEncodingError("cut")) is True


def test_an_answered_error_left():
    assert ServiceError("HTTP 500", permanent=False, status=500).request_left is True


def test_a_dm_send_dropped_after_the_request_is_an_unknown_outcome():
    with _server("drop") as url, pytest.raises(SendOutcomeUnknown):
        TwitterDMClient(url, timeout=2).send("alice", "hi")


def test_a_dm_send_to_a_refused_port_is_unreachable_not_unknown():
    result = TwitterDMClient(f"http://127.0.0.1:{_free_port()}", timeout=2).send("alice", "hi")

    assert (result.outcome, result.retryable, result.unreachable) == ("failed", True, True)
