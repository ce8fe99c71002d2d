"""Statistics for comparisons you can trust: pass@k, Wilson intervals, percentiles.

Pure functions, no I/O.

- `pass_at_k(n, c, k)`: the unbiased estimator HumanEval defines (Chen et al. 2021):
  with n samples of a task of which c pass, 1 - C(n-c, k) / C(n, k), computed as a product
  so it neither overflows nor loses precision for large n.
- `wilson(successes, total)`: the Wilson score interval of a rate (95 % by default); unlike
  the normal approximation it stays inside [0, 1] and is honest for 0/n, n/n and small n.
- `overlap(a, b)`: whether two intervals overlap; comparisons call a difference noise then.
- `percentile(values, q)`: linear interpolation between closest ranks (numpy's default).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Z_95 = 1.959963984540054  # two-sided 95 % quantile of the standard normal


@dataclass(frozen=True)
class Interval:
    """A confidence interval of a rate, both ends in [0, 1]."""

    low: float
    high: float

    def __str__(self) -> str:
        return f"[{self.low * 100:.0f}%–{self.high * 100:.0f}%]"


@dataclass(frozen=True)
class Rate:
    """`successes` out of `total`, with its Wilson interval."""

    successes: int
    total: int

    @property
    def value(self) -> float:
        return self.successes / self.total if self.total else 0.0

    @property
    def interval(self) -> Interval:
        return wilson(self.successes, self.total)


@dataclass(frozen=True)
class SampledRate:
    """A pass rate over cases that each ran one or more times (samples).

    `samples` is the fewest samples any case has; `pass_at_k` holds k = 1 and, when every
    case ran k > 1 times, k = samples (HumanEval's estimator averaged over the cases).
    pass@1 equals the plain rate when each case ran once.
    """

    passed: int
    total: int
    cases: int
    samples: int
    pass_at_k: dict[int, float]

    @property
    def rate(self) -> float:
        return self.passed / self.total if self.total else 0.0

    @property
    def interval(self) -> Interval:
        return wilson(self.passed, self.total)


def sampled_rate(per_case: Iterable[Sequence[bool]]) -> SampledRate:
    """The pass rate, its interval and pass@k of cases given as their samples' outcomes."""
    counts = [(len(outcomes), sum(outcomes)) for outcomes in per_case if outcomes]
    samples = min((n for n, _ in counts), default=0)
    at_k = {k: v for k in sorted({1, samples}) if k >= 1 and (v := mean_pass_at_k(counts, k)) is not None}
    return SampledRate(
        passed=sum(c for _, c in counts),
        total=sum(n for n, _ in counts),
        cases=len(counts),
        samples=samples,
        pass_at_k=at_k,
    )


def pass_at_k(n: int, c: int, k: int) -> float:
    """Probability that at least one of k samples passes, estimated from n samples with c passing.

    1 - C(n-c, k) / C(n, k) = 1 - prod_{i=n-c+1..n} (1 - k / i).
    """
    if n < 1 or k < 1 or not 0 <= c <= n:
        raise ValueError(f"pass@k needs n >= 1, k >= 1 and 0 <= c <= n (got n={n}, c={c}, k={k})")
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples per task (got {n})")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def mean_pass_at_k(samples: Iterable[tuple[int, int]], k: int) -> float | None:
    """The mean pass@k over tasks given as (n, c); None when no task has k samples."""
    values = [pass_at_k(n, c, k) for n, c in samples if n >= k]
    return sum(values) / len(values) if values else None


def wilson(successes: int, total: int, z: float = Z_95) -> Interval:
    """The Wilson score interval of successes/total; (0, 1) when there is no data."""
    if total < 0 or not 0 <= successes <= max(total, 0):
        raise ValueError(f"a rate needs 0 <= successes <= total (got {successes}/{total})")
    if total == 0:
        return Interval(0.0, 1.0)
    p = successes / total
    z2 = z * z
    centre = (p + z2 / (2 * total)) / (1 + z2 / total)
    half = z / (1 + z2 / total) * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    # the exact ends 0/n -> 0 and n/n -> 1 (float rounding would leave 1e-17 off)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == total else min(1.0, centre + half)
    return Interval(low, high)


def overlap(a: Interval, b: Interval) -> bool:
    """Whether the two intervals share a point."""
    return a.low <= b.high and b.low <= a.high


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation between closest ranks; None if empty."""
    if not 0 <= q <= 100:
        raise ValueError(f"a percentile is between 0 and 100 (got {q})")
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    below, above = math.floor(rank), math.ceil(rank)
    return ordered[below] + (ordered[above] - ordered[below]) * (rank - below)
