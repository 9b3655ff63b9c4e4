import pytest

from tests.e2e.harness import System


@pytest.fixture
def system(tmp_path):
    running = System(tmp_path)
    try:
        yield running
    finally:
        running.stop()
