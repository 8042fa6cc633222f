"""DeLong's AUC interval and paired test: against a direct O(m·n) computation, streamed in
chunks, and on synthetic data with a known AUC (coverage) and with no difference (false
positives), each within a stated tolerance."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binom, norm
from sklearn.metrics import roc_auc_score

from mlops_ci.errors import InputError
from mlops_ci.evaluation.delong import PairedDeLong, auc_interval
from mlops_ci.evaluation.ranking import ScoreCounts


def direct(y: np.ndarray, scores: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's AUCs and covariance matrix straight from the definition (every pair)."""
    pos, neg = y == 1, y == 0
    aucs, v10s, v01s = [], [], []
    for s in scores:
        x, z = s[pos][:, None], s[neg][None, :]
        psi = (x > z) + 0.5 * (x == z)
        v10s.append(psi.mean(axis=1))
        v01s.append(psi.mean(axis=0))
        aucs.append(psi.mean())
    s10, s01 = np.cov(np.array(v10s)), np.cov(np.array(v01s))
    return np.array(aucs), np.atleast_2d(s10) / pos.sum() + np.atleast_2d(s01) / neg.sum()


def counts(y: np.ndarray, s: np.ndarray, chunk: int) -> ScoreCounts:
    c = ScoreCounts()
    for i in range(0, len(y), chunk):
        c.update(s[i:i + chunk], y[i:i + chunk])
    return c


def paired(y: np.ndarray, base: np.ndarray, head: np.ndarray, chunk: int) -> PairedDeLong:
    test = PairedDeLong(counts(y, base, chunk), counts(y, head, chunk))
    for i in range(0, len(y), chunk):
        test.update(y[i:i + chunk] == 1, base[i:i + chunk], head[i:i + chunk])
    return test


@pytest.mark.parametrize("chunk", [1, 7, 10_000])
def test_paired_delong_equals_the_direct_computation(chunk: int) -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300)
    base = np.round(y * 0.8 + rng.normal(0, 1, 300), 1)  # rounded: ties in both models
    head = np.round(y * 1.1 + rng.normal(0, 1, 300), 2)
    aucs, var = direct(y, [base, head])
    result = paired(y, base, head, chunk).result(0.95)
    assert result.base.estimate == pytest.approx(roc_auc_score(y, base), abs=1e-12)
    assert result.head.estimate == pytest.approx(roc_auc_score(y, head), abs=1e-12)
    diff_sd = math.sqrt(var[0, 0] + var[1, 1] - 2 * var[0, 1])
    z = norm.ppf(0.975)
    assert result.difference.estimate == pytest.approx(aucs[1] - aucs[0], abs=1e-12)
    assert result.difference.high - result.difference.estimate == pytest.approx(z * diff_sd)
    assert result.p_value == pytest.approx(2 * norm.sf(abs(aucs[1] - aucs[0]) / diff_sd))
    assert result.head.high - result.head.estimate == pytest.approx(z * math.sqrt(var[1, 1]))


def test_one_models_interval_equals_the_direct_computation() -> None:
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 400)
    s = np.round(y + rng.normal(0, 1.5, 400), 1)
    (auc,), var = direct(y, [s])
    interval = auc_interval(counts(y, s, 13), 0.9)
    assert interval.estimate == pytest.approx(auc, abs=1e-12)
    assert interval.high - interval.low == pytest.approx(2 * norm.ppf(0.95) * math.sqrt(var[0, 0]))
    assert interval.level == 0.9


def band(trials: int, rate: float) -> tuple[float, float]:
    """The 99 % binomial band of a rate over *trials* independent datasets."""
    return binom.ppf(0.005, trials, rate) / trials, binom.ppf(0.995, trials, rate) / trials


def test_the_interval_covers_the_true_auc_at_its_level() -> None:
    # binormal: positives N(d, 1), negatives N(0, 1), so AUC = Φ(d / √2)
    d, trials, rows = 1.0, 400, 600
    truth = norm.cdf(d / math.sqrt(2))
    rng = np.random.default_rng(11)
    covered = 0
    for _ in range(trials):
        y = rng.integers(0, 2, rows)
        s = rng.normal(0, 1, rows) + d * y
        covered += auc_interval(counts(y, s, 10_000), 0.95).contains(truth)
    low, high = band(trials, 0.95)
    print(f"DeLong 95 % interval covered the true AUC in {covered / trials:.1%} of {trials}")
    assert low <= covered / trials <= high


def test_no_difference_is_significant_at_most_at_the_stated_rate() -> None:
    # two models of equal AUC whose noise is independent given the rows
    trials, rows, alpha = 400, 600, 0.05
    rng = np.random.default_rng(12)
    significant = 0
    for _ in range(trials):
        y = rng.integers(0, 2, rows)
        signal = rng.normal(0, 1, rows) + 0.8 * y
        base = signal + rng.normal(0, 1, rows)
        head = signal + rng.normal(0, 1, rows)
        significant += paired(y, base, head, 10_000).result(1 - alpha).p_value < alpha
    _, high = band(trials, alpha)
    print(f"DeLong: {significant / trials:.1%} of {trials} equal pairs were 'significant'")
    assert significant / trials <= high


def test_a_real_difference_is_found() -> None:
    rng = np.random.default_rng(13)
    y = rng.integers(0, 2, 3000)
    signal = rng.normal(0, 1, 3000)
    base = signal + 0.6 * y + rng.normal(0, 1, 3000)
    head = signal + 1.2 * y + rng.normal(0, 1, 3000)
    result = paired(y, base, head, 500).result(0.95)
    assert result.p_value < 1e-6 and result.difference.low > 0


def test_one_class_and_mismatched_passes_are_clear_errors() -> None:
    y = np.zeros(10, dtype=int)
    with pytest.raises(InputError, match="only negatives"):
        auc_interval(counts(y, np.arange(10.0), 5))
    y = np.array([0, 1] * 10)
    s = np.arange(20.0)
    test = PairedDeLong(counts(y, s, 20), counts(y, s, 20))
    test.update(y[:10] == 1, s[:10], s[:10])
    with pytest.raises(InputError, match="give every row in both passes"):
        test.result()
    with pytest.raises(InputError, match="not seen in the first"):
        test.update(y[:2] == 1, s[:2] + 0.5, s[:2])
