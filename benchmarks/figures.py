"""Small helpers for reporting figures."""

from __future__ import annotations


def pct(values: list[float], q: float) -> float:
    """The `q`th percentile by nearest rank; NaN for no samples."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(round(q / 100 * (len(ordered) - 1)), len(ordered) - 1)]
