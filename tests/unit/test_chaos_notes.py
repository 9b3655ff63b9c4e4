"""A chaos fault's counters of odd rounds (kills that came too late, a guessed worker) end
up as notes in its tally, one per counter above zero, each with its count."""

from pathlib import Path

import pytest

from benchmarks.chaos import faults
from benchmarks.chaos.runner import Tally


@pytest.mark.parametrize(
    ("fault", "counter", "said"),
    [
        (faults.WorkerMidCall, "missed", "landed just after the task ended"),
        (faults.IdleWorker, "guessed", "killed a random idle worker"),
        (faults.HostCluster, "missed", "the send ended before the kill"),
    ],
)
def test_each_counter_above_zero_is_one_note_with_its_count(
    monkeypatch, tmp_path: Path, fault, counter, said
):
    monkeypatch.setattr(faults, "settle", lambda *args, **kwargs: Tally(tasks=3))
    quiet = fault.__new__(fault)
    quiet.system, quiet.items = object(), {}
    assert quiet.settle().notes == []
    setattr(quiet, counter, 2)
    (note,) = quiet.settle().notes
    assert note.startswith("2 ")
    assert said in note
