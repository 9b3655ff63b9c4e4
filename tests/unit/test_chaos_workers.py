"""The chaos suite finds a pool's workers when both of a host's clusters log to one file: the
processes of that pool's cluster that said they are ready for work, not the other pool's
workers, nor the cluster's main process, sentinel, monitor or pusher."""

from benchmarks.chaos.runner import worker_pids

LOG = """\
host local: cluster started (2 workers, pid 100, incarnation 1)
host local: ordinary cluster started (2 workers, pid 200, incarnation 1)
12:00:01 [Q] INFO Process-aa ready for work at 102
12:00:01 [Q] INFO Process-bb ready for work at 202
12:00:01 [Q] INFO Process-cc ready for work at 103
12:00:01 [Q] INFO Process-dd ready for work at 203
12:00:02 [Q] INFO Process-ee ready for work at 106
"""


class TwoPools:
    """What the harness shows of a supervisor with a main and an ordinary cluster: 102 died
    (no longer a process of the cluster), django-q2 started 106 in its place."""

    clusters = {"main": [100, 101, 103, 104, 105, 106], "ordinary": [200, 201, 202, 203, 204]}

    def log(self, name: str) -> str:
        return LOG if name == "workers" else ""

    def cluster_pids(self, name: str = "workers", pool: str = "main") -> list[int]:
        return self.clusters[pool] if name == "workers" else []


def test_each_pool_has_its_own_live_workers_only():
    system = TwoPools()
    assert worker_pids(system) == [103, 106]  # type: ignore[arg-type]
    assert worker_pids(system, pool="ordinary") == [202, 203]  # type: ignore[arg-type]
