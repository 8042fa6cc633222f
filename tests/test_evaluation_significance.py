"""mlops_ci/evaluation/significance.py: exact McNemar, the paired bootstrap, the verdict.

The statistical tests run many synthetic datasets and assert with a stated tolerance: the
one-sided 99 % bound of a binomial count over that many trials.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from mlops_ci.errors import InputError
from mlops_ci.evaluation.bootstrap import BootstrapAccumulator, Interval
from mlops_ci.evaluation.poisson import GROUPS
from mlops_ci.evaluation.significance import (
    McNemarAccumulator,
    McNemarResult,
    PairedBootstrap,
    PairedResult,
    bootstrap_p_value,
    check_aligned,
    judge,
    mcnemar_exact,
    zip_paired,
)

ALPHA = 0.05


def _at_most(trials: int, rate: float) -> float:
    """The 99 % upper bound of the share of Binomial(trials, rate) successes."""
    return float(stats.binom.ppf(0.99, trials, rate)) / trials


def _pairs(rng: np.random.Generator, datasets: int, n: int, base: float, head: float):
    """Binary targets and two models with accuracies *base* and *head*, independent errors."""
    y = rng.integers(0, 2, (datasets, n))
    base_pred = np.where(rng.random((datasets, n)) < base, y, 1 - y)
    head_pred = np.where(rng.random((datasets, n)) < head, y, 1 - y)
    return y, base_pred, head_pred


def _significant_shares(y, base_pred, head_pred, replicates: int) -> tuple[float, float]:
    """The share of datasets McNemar and the paired bootstrap of accuracy call significant."""
    mcnemar = bootstrap = 0
    for i in range(len(y)):
        test = McNemarAccumulator()
        test.update(y[i], base_pred[i], head_pred[i])
        mcnemar += judge(test.result(), ALPHA).significance == "significant"
        paired = PairedBootstrap("binary", ["accuracy"], replicates=replicates, seed=i)
        paired.update(y[i], base_pred[i], head_pred[i])
        bootstrap += judge(paired.results()["accuracy"], ALPHA).significance == "significant"
    return mcnemar / len(y), bootstrap / len(y)


# -- McNemar ---------------------------------------------------------------------------------


def test_mcnemar_by_hand() -> None:
    # b=1, c=5 of 6 discordant rows: 2 * P(X <= 1), X ~ Binomial(6, 1/2) = 2 * 7/64
    assert mcnemar_exact(1, 5) == pytest.approx(14 / 64, abs=1e-15)
    assert mcnemar_exact(0, 10) == pytest.approx(2 / 1024, abs=1e-15)
    assert mcnemar_exact(3, 3) == 1.0
    assert mcnemar_exact(0, 0) == 1.0


def test_mcnemar_equals_scipys_binomial_test() -> None:
    for b in range(0, 40, 3):
        for c in range(0, 60, 7):
            if b + c:
                expected = stats.binomtest(b, b + c, 0.5).pvalue
                assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-12)
    assert mcnemar_exact(480, 560) == pytest.approx(stats.binomtest(480, 1040).pvalue)


def test_mcnemar_equals_the_exact_binomial_tail_summed_by_hand() -> None:
    """statsmodels' `mcnemar(exact=True)` definition, written out: twice the lower tail of
    Binomial(b + c, 1/2) at min(b, c), capped at 1 (no statsmodels dependency needed)."""
    from math import comb

    for b, c in [(7, 19), (19, 7), (0, 9), (12, 12), (3, 40)]:
        n, k = b + c, min(b, c)
        expected = min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2**n)
        assert mcnemar_exact(b, c) == pytest.approx(expected, rel=1e-12), (b, c)


def test_mcnemar_counts_the_discordant_rows_chunk_by_chunk() -> None:
    y = np.array(["a", "b", "a", "b", "a", "b"])
    base = np.array(["a", "b", "b", "b", "b", "a"])  # right on rows 0, 1, 3
    head = np.array(["a", "a", "a", "b", "a", "a"])  # right on rows 0, 2, 3, 4
    test = McNemarAccumulator()
    test.update(y[:4], base[:4], head[:4], base_ids=[1, 2, 3, 4], head_ids=[1, 2, 3, 4])
    test.update(y[4:], base[4:], head[4:])
    result = test.result()
    assert (result.b, result.c, result.rows) == (1, 2, 6)  # b: row 1; c: rows 2 and 4
    assert result.p_value == 1.0 and result.difference == pytest.approx(1 / 6)
    verdict = judge(result, ALPHA)
    assert (verdict.significance, verdict.direction) == ("within noise", "higher")


# -- the paired bootstrap ----------------------------------------------------------------------


@pytest.mark.parametrize("groups", [GROUPS, 256])  # every row its own group; random groups
def test_the_same_weights_pair_base_and_head(groups: int) -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=3000)
    pred = y + rng.normal(size=3000)
    paired = PairedBootstrap("regression", ["rmse", "r2"], replicates=200, groups=groups)
    paired.update(y, pred, pred)
    for result in paired.results().values():
        assert result.difference == Interval(0.0, 0.0, 0.0)
        assert result.p_value == 1.0
        assert result.base == result.head
        assert judge(result, ALPHA).direction == "unchanged"


def test_pairing_narrows_the_interval_of_a_small_change() -> None:
    """Head = base with 2 % of the rows changed: shared weights make the difference's interval
    far narrower than two independent intervals would (about sqrt(2) x one side's width)."""
    rng = np.random.default_rng(4)
    labels = [0, 1, 2]
    y = rng.integers(0, 3, 5000)
    base = np.where(rng.random(5000) < 0.7, y, rng.integers(0, 3, 5000))
    head = np.where(rng.random(5000) < 0.02, y, base)
    paired = PairedBootstrap("multiclass", ["accuracy", "macro_f1"], replicates=500, labels=labels)
    paired.update(y, base, head)
    for name, result in paired.results().items():
        alone = BootstrapAccumulator("multiclass", [name], replicates=500, labels=labels)
        alone.update(y, base)
        assert result.base.estimate == alone.intervals()[name].estimate
        side = result.base.high - result.base.low
        assert result.difference.high - result.difference.low < 0.3 * side
        assert judge(result, ALPHA).direction == "higher"


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_paired_results_are_the_same_for_every_chunk_size(task: str) -> None:
    """Bit for bit; the regression with 256 random groups, over two whole blocks and a part."""
    rng = np.random.default_rng(3)
    if task == "binary":
        y, base, head = (a[0] for a in _pairs(rng, 1, 2500, 0.8, 0.82))
        labels: list[str] | None = ["no", "yes"]
        y, base, head = (np.asarray(labels)[a] for a in (y, base, head))
        metrics, extra = ["accuracy", "f1"], {}
    else:
        y = rng.normal(size=2500)
        base, head = y + rng.normal(size=2500), y + rng.normal(0.0, 0.9, 2500)
        labels, metrics, extra = None, ["rmse", "r2"], {"groups": 256}
    results = []
    for chunk in (1, 7, 10_000):
        paired = PairedBootstrap(task, metrics, replicates=200, labels=labels, **extra)
        for start in range(0, len(y), chunk):
            part = slice(start, start + chunk)
            paired.update(y[part], base[part], head[part])
        results.append(paired.results())
    assert results[0] == results[1] == results[2]


def test_bootstrap_p_value() -> None:
    assert bootstrap_p_value(np.array([0.1] * 999), 0.1) == pytest.approx(2 / 1000)
    assert bootstrap_p_value(np.array([-0.1] * 500 + [0.1] * 499), 0.1) == 1.0
    assert bootstrap_p_value(np.array([-0.1] * 24 + [0.1] * 975), 0.1) == pytest.approx(0.05)
    assert bootstrap_p_value(np.array([0.2, 0.0]), 0.0) == 1.0


def test_no_effect_is_rarely_significant() -> None:
    """Same error rate, independent errors: false "significant" at alpha 0.05 in no more than
    5 % of datasets plus the tolerance (one-sided 99 % binomial bound: 7.75 % of 400).
    Measured here: 3.75 % (McNemar), 4.25 % (paired bootstrap)."""
    datasets = 400
    y, base, head = _pairs(np.random.default_rng(10), datasets, 2000, 0.8, 0.8)
    mcnemar, bootstrap = _significant_shares(y, base, head, replicates=500)
    bound = _at_most(datasets, ALPHA)
    assert mcnemar <= bound
    assert bootstrap <= bound


@pytest.mark.parametrize(
    ("n", "groups", "seed"),
    [(1024, GROUPS, 12), (8 * 256, 256, 13)],  # every row its own group; 8 rows a group
)
def test_no_effect_on_a_regression_is_rarely_significant(n: int, groups: int, seed: int) -> None:
    """Equal error variances, independent errors: measured 3.0 % (per row) and 5.0 %
    (random groups) "significant" over these 200 datasets; asserted: at most 8.5 %."""
    datasets = 200
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(datasets, n))
    base, head = y + rng.normal(size=(datasets, n)), y + rng.normal(size=(datasets, n))
    significant = 0
    for i in range(datasets):
        paired = PairedBootstrap("regression", ["mse"], replicates=200, seed=i, groups=groups)
        paired.update(y[i], base[i], head[i])
        significant += judge(paired.results()["mse"], ALPHA).significance == "significant"
    assert significant / datasets <= _at_most(datasets, ALPHA)


def test_a_three_point_gain_on_5000_rows_is_found() -> None:
    """Head 83 % against base 80 %, 5000 rows: measured power 97 % for both McNemar and the
    paired bootstrap over these 200 datasets; asserted: at least 90 %."""
    y, base, head = _pairs(np.random.default_rng(20), 200, 5000, 0.80, 0.83)
    mcnemar, bootstrap = _significant_shares(y, base, head, replicates=500)
    assert mcnemar >= 0.9
    assert bootstrap >= 0.9
    test = McNemarAccumulator()
    test.update(y[0], base[0], head[0])
    assert judge(test.result(), ALPHA).direction == "higher"


# -- the verdict -----------------------------------------------------------------------------


def test_judge_reads_each_kind_of_evidence() -> None:
    worse = McNemarResult(b=40, c=10, rows=1000, p_value=mcnemar_exact(40, 10))
    assert judge(worse, ALPHA).significance == "significant"
    assert judge(worse, ALPHA).direction == "lower"
    interval = Interval(0.01, 0.03, 0.02)
    assert judge(interval, ALPHA).significance == "significant"
    assert judge(Interval(-0.01, 0.03, 0.01), ALPHA).significance == "within noise"
    assert judge(Interval(math.nan, math.nan, 0.0), ALPHA).significance == "within noise"
    assert judge(Interval(-0.01, 0.03, 0.01, level=0.9), 0.1).direction == "higher"
    paired = PairedResult(Interval(-0.02, -0.01, -0.015), 0.002, interval, interval)
    assert judge(paired, ALPHA).significance == "significant"
    assert judge(paired, 0.001).significance == "within noise"
    bare = judge(0.04, ALPHA)
    assert (bare.significance, bare.direction, bare.p_value) == ("significant", "unknown", 0.04)
    assert judge(0.05, ALPHA).significance == "within noise"


@pytest.mark.parametrize("alpha", [0, 1, 1.5, -0.1, math.nan, True, "0.05"])
def test_alpha_outside_zero_one_is_an_input_error(alpha: object) -> None:
    with pytest.raises(InputError, match="alpha must be between 0 and 1"):
        judge(0.5, alpha)  # type: ignore[arg-type]


def test_judge_refuses_what_it_cannot_read() -> None:
    with pytest.raises(InputError, match="level 0.95 but alpha 0.1 needs level 0.9"):
        judge(Interval(0.0, 1.0, 0.5), 0.1)
    with pytest.raises(InputError, match="between 0 and 1"):
        judge(1.5, ALPHA)
    with pytest.raises(InputError, match="Cannot judge str"):
        judge("significant", ALPHA)  # type: ignore[arg-type]


# -- misaligned rows -------------------------------------------------------------------------


def test_row_counts_that_differ_are_input_errors() -> None:
    paired = PairedBootstrap("binary", replicates=100)
    with pytest.raises(InputError, match="The head has 2 predictions for 3 rows from row 0"):
        paired.update([0, 1, 1], [0, 1, 1], [0, 1])
    with pytest.raises(InputError, match="The base has 2 rows and the head 3"):
        McNemarAccumulator().update_correct([True, False], [True, True, False])
    chunks = zip_paired([[1, 2], [3, 4]], [[1, 2], [3, 4], [5]])
    with pytest.raises(
        InputError, match="The head has more rows than the other, which ends after 4 rows"
    ):
        list(chunks)
    with pytest.raises(InputError, match="a chunk of 2 rows and the head one of 1"):
        list(zip_paired([[1, 2]], [[1]]))
    assert list(zip_paired([[1], [2]], [[1], [2]])) == [([1], [1]), ([2], [2])]


def test_misaligned_ids_name_the_row() -> None:
    paired = PairedBootstrap("binary", replicates=100)
    paired.update([0, 1], [0, 1], [0, 1], base_ids=["a", "b"], head_ids=["a", "b"])
    with pytest.raises(InputError, match=r"Row 3 is 'd' in the base's id but 'e' in the head's"):
        paired.update([0, 1], [0, 1], [0, 1], base_ids=["c", "d"], head_ids=["c", "e"])
    with pytest.raises(InputError, match="of both the base and the head, or of neither"):
        paired.update([0], [0], [0], base_ids=["x"])
    with pytest.raises(InputError, match="1 values for 2 rows"):
        paired.update([0, 1], [0, 1], [0, 1], base_ids=["x"], head_ids=["x"])
    with pytest.raises(InputError, match=r"Row 7 is 2\.0 in the base's target but 3\.0"):
        check_aligned(np.array([1.0, 2.0]), np.array([1.0, 3.0]), column="target", first_row=6)


def test_missing_targets_and_few_replicates_are_input_errors() -> None:
    with pytest.raises(InputError, match="y_true is missing at row 1"):
        McNemarAccumulator().update([1.0, math.nan], [1.0, 1.0], [1.0, 0.0])
    with pytest.raises(InputError, match="at least 100"):
        PairedBootstrap("binary", replicates=50)
    with pytest.raises(InputError, match="no rows to compare"):
        McNemarAccumulator().result()
    with pytest.raises(InputError, match="no rows to evaluate"):
        PairedBootstrap("binary", replicates=100).results()
