"""Which messages of a read window are already stored, by content and order alone (pure).

Used for messages without a usable time or id (crm/sync.py). A service shows the newest
messages of a conversation, oldest first; the stored conversation is ordered by time. Keys are
(direction, normalised text).

1. The usual case, messages appended since the last read: the longest prefix of the window
   that equals the end of the stored conversation is known; the rest is new.
2. When no prefix lines up (a send we logged that the service does not show yet, a logged send
   placed differently), count instead: within the stored tail the window could cover (its
   length plus `slack`), each key's occurrences are known, oldest first; only the window's
   later occurrences beyond that count are new. This errs towards "known": a new message whose
   exact text also sits in those few older stored messages is missed, never stored twice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence

SLACK = 10


def align(
    stored: Sequence[Hashable], window: Sequence[Hashable], *, slack: int = SLACK
) -> list[int | None]:
    """For each window entry, the index of the stored entry it is, or None when it is new."""
    n = len(window)
    for k in range(min(n, len(stored)), 0, -1):
        if list(window[:k]) == list(stored[len(stored) - k :]):
            base = len(stored) - k
            return [base + i if i < k else None for i in range(n)]
    start = max(len(stored) - n - slack, 0)
    stored_at: dict[Hashable, list[int]] = defaultdict(list)
    for index in range(start, len(stored)):
        stored_at[stored[index]].append(index)
    window_at: dict[Hashable, list[int]] = defaultdict(list)
    for index, key in enumerate(window):
        window_at[key].append(index)
    out: list[int | None] = [None] * n
    for key, positions in window_at.items():
        known = stored_at.get(key, [])
        matched = min(len(positions), len(known))
        for position, index in zip(positions[:matched], known[len(known) - matched :], strict=True):
            out[position] = index
    return out
