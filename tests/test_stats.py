"""tools.stats: pass@k (HumanEval's unbiased estimator), Wilson intervals, percentiles."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tools.stats import Interval, Rate, mean_pass_at_k, overlap, pass_at_k, percentile, sampled_rate, wilson


def test_pass_at_k_known_values() -> None:
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)  # pass@1 is the plain pass rate
    assert pass_at_k(10, 3, 5) == pytest.approx(1 - 21 / 252)  # 1 - C(7,5)/C(10,5)
    assert pass_at_k(10, 0, 5) == 0.0
    assert pass_at_k(10, 6, 5) == 1.0  # fewer than k failures: some k-subset always passes
    assert pass_at_k(1, 1, 1) == 1.0 and pass_at_k(1, 0, 1) == 0.0


@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_at_k_equals_the_binomial_definition(nck: tuple[int, int, int]) -> None:
    n, c, k = nck
    exact = 1 - math.comb(n - c, k) / math.comb(n, k)
    assert pass_at_k(n, c, k) == pytest.approx(exact, abs=1e-12)


def test_pass_at_k_is_stable_for_large_n() -> None:
    # C(2000, 100) overflows a float; the product form does not
    value = pass_at_k(2000, 10, 100)
    assert 0.0 < value < 1.0
    assert value == pytest.approx(1 - math.comb(1990, 100) / math.comb(2000, 100), rel=1e-9)


def test_pass_at_k_refuses_impossible_input() -> None:
    with pytest.raises(ValueError, match="at least 5 samples"):
        pass_at_k(3, 1, 5)
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)


def test_mean_pass_at_k_skips_tasks_with_too_few_samples() -> None:
    assert mean_pass_at_k([(1, 1), (1, 0)], 1) == 0.5
    assert mean_pass_at_k([(1, 1)], 2) is None
    assert mean_pass_at_k([(2, 1), (1, 1)], 2) == 1.0


def test_wilson_known_values() -> None:
    # reference values (e.g. statsmodels proportion_confint(..., method="wilson"))
    low, high = wilson(8, 10).low, wilson(8, 10).high
    assert (low, high) == (pytest.approx(0.4902, abs=1e-4), pytest.approx(0.9433, abs=1e-4))
    assert wilson(0, 10) == Interval(0.0, pytest.approx(0.2775, abs=1e-4))
    assert wilson(10, 10) == Interval(pytest.approx(0.7225, abs=1e-4), 1.0)
    assert wilson(0, 0) == Interval(0.0, 1.0)  # no data: anything is possible


@given(st.integers(0, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_the_rate_and_stays_in_bounds(sn: tuple[int, int]) -> None:
    s, n = sn
    interval = wilson(s, n)
    assert 0.0 <= interval.low <= interval.high <= 1.0
    if n:
        assert interval.low <= s / n <= interval.high


def test_wilson_narrows_with_more_data() -> None:
    small, large = wilson(5, 10), wilson(500, 1000)
    assert large.high - large.low < small.high - small.low


def test_overlap_and_rate() -> None:
    assert overlap(wilson(6, 10), wilson(8, 10))  # 60% vs 80% on 10 cases: noise
    assert not overlap(wilson(60, 100), wilson(95, 100))
    rate = Rate(3, 4)
    assert rate.value == 0.75 and rate.interval == wilson(3, 4)
    assert str(wilson(8, 10)) == "[49%–94%]"


def test_percentile() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0], 90) == 3.0
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile(list(range(1, 11)), 90) == pytest.approx(9.1)  # numpy's linear method
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_sampled_rate_pools_samples_and_gives_pass_at_k() -> None:
    once = sampled_rate([[True], [False], [True], [True]])
    assert (once.passed, once.total, once.cases, once.samples) == (3, 4, 4, 1)
    assert once.pass_at_k == {1: 0.75} and once.rate == 0.75 and once.interval == wilson(3, 4)
    thrice = sampled_rate([[True, True, True], [True, False, False]])
    assert thrice.pass_at_k == {1: pytest.approx(2 / 3), 3: 1.0}
    uneven = sampled_rate([[True, False], [False]])  # the fewest samples decide k
    assert uneven.samples == 1 and set(uneven.pass_at_k) == {1}
    assert sampled_rate([]).pass_at_k == {} and sampled_rate([]).rate == 0.0
