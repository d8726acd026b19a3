"""Percentiles, throughput and the rule for repeated rounds: report the median round, and
flag a figure whose rounds differ by more than 15 % (a noisy machine, not a result)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from time import perf_counter
from typing import Any

NOISY_SPREAD = 0.15


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


@dataclass
class Timing:
    """One round: latencies in milliseconds and requests per second (one client, in turn)."""

    p50: float
    p95: float
    p99: float
    throughput: float
    count: int

    @classmethod
    def of(cls, seconds: Sequence[float], elapsed: float | None = None) -> Timing:
        millis = [s * 1000 for s in seconds]
        total = elapsed if elapsed is not None else sum(seconds)
        return cls(
            p50=percentile(millis, 0.50),
            p95=percentile(millis, 0.95),
            p99=percentile(millis, 0.99),
            throughput=len(seconds) / total if total else 0.0,
            count=len(seconds),
        )


def timed(call: Callable[[], Any], runs: int) -> Timing:
    seconds = []
    started = perf_counter()
    for _ in range(runs):
        begin = perf_counter()
        call()
        seconds.append(perf_counter() - begin)
    return Timing.of(seconds, perf_counter() - started)


@dataclass
class Summary:
    """The median of each figure over the rounds, and how far the rounds' p50 spread."""

    p50: float
    p95: float
    p99: float
    throughput: float
    spread: float
    rounds: int

    @property
    def noisy(self) -> bool:
        return self.spread > NOISY_SPREAD

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "noisy": self.noisy}


def summarise(rounds: Sequence[Timing]) -> Summary:
    p50s = [r.p50 for r in rounds]
    middle = statistics.median(p50s)
    return Summary(
        p50=middle,
        p95=statistics.median(r.p95 for r in rounds),
        p99=statistics.median(r.p99 for r in rounds),
        throughput=statistics.median(r.throughput for r in rounds),
        spread=(max(p50s) - min(p50s)) / middle if middle else 0.0,
        rounds=len(rounds),
    )
