"""Shared pieces of the benchmarks: timing with warm-up, medians, and the result row."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """One comparison: our median against the reference's median, and the target ratio (None: shown for
    information only)."""

    name: str
    ours_s: float | None
    reference_name: str
    reference_s: float | None
    target: float | None
    unit: str = "s"
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """ours / reference, or None when either side was skipped."""
        if self.ours_s is None or not self.reference_s:
            return None
        return self.ours_s / self.reference_s

    @property
    def verdict(self) -> str:
        """``pass``, ``MISS``, ``skip``, or ``info`` for a comparison without a target."""
        ratio = self.ratio
        if ratio is None:
            return "skip"
        if self.target is None:
            return "info"
        return "pass" if ratio <= self.target else "MISS"


def measure(fn: Callable[[], object], *, repeat: int, warmup: int = 1) -> float:
    """Median wall time of ``fn`` over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


async def measure_async(fn: Callable[[], Awaitable[object]], *, repeat: int, warmup: int = 1) -> float:
    """Median wall time of the coroutine made by ``fn`` over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        await fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)
