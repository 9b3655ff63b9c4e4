import pytest

from tests.e2e.harness import System


def pytest_collection_modifyitems(items):
    """Each e2e test starts real processes on a 2-core machine, with waits sized for a quiet
    one. One rerun keeps a starved machine from failing a submission; a test that fails twice
    still fails. (The "idle cluster" failures once blamed on this were the web server reading
    a frozen SQLite snapshot: see tests/integration/test_sqlite_locks_kept.py.)"""
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.flaky(reruns=1, reruns_delay=2))


@pytest.fixture
def system(tmp_path):
    running = System(tmp_path)
    try:
        yield running
    finally:
        running.stop()
