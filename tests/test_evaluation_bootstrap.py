"""mlops_ci/evaluation/bootstrap.py, sufficient.py, poisson.py: streaming bootstrap intervals.

The statistical tests run many synthetic datasets with a known truth and assert with a stated
tolerance: the 99 % band of a binomial count over that many trials.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from mlops_ci.errors import InputError
from mlops_ci.evaluation import poisson
from mlops_ci.evaluation.bootstrap import BootstrapAccumulator, Interval, metric_names


def _binary_band(trials: int, p: float, confidence: float = 0.99) -> tuple[float, float]:
    """The central *confidence* band of a Binomial(trials, p) count, as fractions."""
    low, high = stats.binom.interval(confidence, trials, p)
    return low / trials, high / trials


def _feed(acc: BootstrapAccumulator, y: np.ndarray, p: np.ndarray, chunk: int) -> None:
    for start in range(0, len(y), chunk):
        acc.update(y[start : start + chunk], p[start : start + chunk])


# -- the Poisson weights ---------------------------------------------------------------------


def test_poisson1_draws_follow_poisson_one() -> None:
    rng = np.random.Generator(np.random.PCG64(3))
    draws = poisson.poisson1(rng, (1_000_000,))
    assert np.all(draws == np.round(draws)) and draws.min() >= 0
    observed = np.bincount(draws.astype(np.int64), minlength=7)
    expected = stats.poisson.pmf(np.arange(6), 1.0) * draws.size
    # the tail from 6 on pooled, so every expected count is large enough for chi-square
    observed = np.append(observed[:6], observed[6:].sum())
    expected = np.append(expected, draws.size - expected.sum())
    assert stats.chisquare(observed, expected).pvalue > 1e-4
    assert abs(draws.mean() - 1.0) < 0.005 and abs(draws.var() - 1.0) < 0.01


def test_the_inversion_table_is_the_distribution_function() -> None:
    """Each of the 65536 top-16-bit values gives the weight of all 65536 32-bit integers under
    it, or -1 (look at the low bits) where a threshold of the distribution falls inside."""
    top = np.arange(65536, dtype=np.uint64) << np.uint64(16)
    first = np.searchsorted(poisson._THRESHOLDS, top, side="right")
    last = np.searchsorted(poisson._THRESHOLDS, top + np.uint64(65535), side="right")
    known = poisson._TABLE >= 0
    assert np.array_equal(poisson._TABLE[known], first[known])
    assert np.array_equal(known, first == last)
    assert 0 < np.count_nonzero(~known) < 20
    expected = np.cumsum(stats.poisson.pmf(np.arange(20), 1.0)) * 2.0**32
    assert np.allclose(poisson._THRESHOLDS[:12].astype(float), expected[:12], rtol=0, atol=1)


def test_row_groups_depend_on_seed_block_and_groups_only() -> None:
    first = poisson.row_groups(7, 3, 256)
    assert first.shape == (poisson.BLOCK_GROUPS * 256,)
    assert first.min() >= 0 and first.max() < 256
    assert np.array_equal(first, poisson.row_groups(7, 3, 256))
    assert not np.array_equal(first, poisson.row_groups(7, 4, 256))
    assert not np.array_equal(first, poisson.row_groups(8, 3, 256))
    # uniform and independent: 400 blocks' worth of groups, chi-square against equal counts
    many = np.concatenate([poisson.row_groups(1, k, 256) for k in range(400)])
    assert stats.chisquare(np.bincount(many, minlength=256)).pvalue > 1e-4


def test_group_weights_do_not_depend_on_how_many_groups_follow() -> None:
    few = np.concatenate(list(poisson.group_weights(5, 100, 300)), axis=1)
    many = np.concatenate(list(poisson.group_weights(5, 100, 1000)), axis=1)
    assert few.shape == (100, 300) and many.shape == (100, 1000)
    assert np.array_equal(few, many[:, :300])
    assert not np.array_equal(few, np.concatenate(list(poisson.group_weights(6, 100, 300)), 1))


def _per_row_bootstrap(rng: np.random.Generator, values: np.ndarray, replicates: int):
    """The reference: the mean of *values* under every row's own Poisson(1) weights, drawn
    with numpy's own Poisson generator."""
    weights = rng.poisson(1.0, (replicates, values.size)).astype(float)
    return (weights @ values) / weights.sum(axis=1)


def test_cell_counts_bootstrap_like_row_weights() -> None:
    """Poisson(n) per cell is the per-row Poisson(1) bootstrap summed per cell: the replicate
    distribution of accuracy is the same as with every row's weights drawn."""
    rng = np.random.default_rng(11)
    n, replicates = 3000, 2000
    y = rng.integers(0, 2, n)
    pred = np.where(rng.random(n) < 0.8, y, 1 - y)
    acc = BootstrapAccumulator("binary", ["accuracy"], replicates=replicates, seed=1)
    acc.update(y, pred)
    by_cells = acc.replicate_values()["accuracy"]
    by_rows = _per_row_bootstrap(rng, (y == pred).astype(float), replicates)

    assert stats.ks_2samp(by_cells, by_rows).pvalue > 1e-3
    expected_sd = math.sqrt(0.8 * 0.2 / n)
    for values in (by_cells, by_rows):
        assert abs(values.std() / expected_sd - 1) < 0.1


def test_up_to_g_rows_every_row_is_its_own_group() -> None:
    """With at most G rows the bootstrap is the per-row one: the same replicates whatever G
    beyond the row count, distributed as numpy's per-row Poisson bootstrap."""
    rng = np.random.default_rng(8)
    y = rng.normal(size=256)
    pred = y + rng.exponential(1.0, 256)  # skewed errors: the replicates are skewed too
    replicates = {}
    for groups in (256, 1000, poisson.GROUPS):
        acc = BootstrapAccumulator("regression", ["mean_error"], replicates=2000, groups=groups)
        acc.update(y, pred)
        replicates[groups] = acc.replicate_values()["mean_error"]
    assert np.array_equal(replicates[256], replicates[poisson.GROUPS])
    assert np.array_equal(replicates[1000], replicates[poisson.GROUPS])
    by_rows = _per_row_bootstrap(rng, pred - y, 2000)
    assert stats.ks_2samp(replicates[256], by_rows).pvalue > 1e-3

    grouped = BootstrapAccumulator("regression", ["mean_error"], replicates=2000, groups=255)
    grouped.update(y, pred)  # one row more than groups: random groups
    assert not np.array_equal(grouped.replicate_values()["mean_error"], replicates[256])


def test_random_groups_bootstrap_like_row_weights_whatever_the_row_order() -> None:
    """N = 32 G rows whose error drifts from -2 to +2 along the file (a file sorted by time,
    say): the groups are drawn independently of the order, so the spread of the replicates
    is the per-row bootstrap's, the standard error sd(err) / sqrt(N). (Groups that took one
    row of every block of G rows, a permutation per block, would see only the spread within
    the blocks: 0.64 of it here, measured.)"""
    rng = np.random.default_rng(30)
    groups, n = 256, 256 * 32
    y = rng.normal(size=n)
    err = np.linspace(-2.0, 2.0, n) + rng.normal(size=n)
    expected_sd = err.std() / math.sqrt(n)
    for order in ("sorted", "shuffled"):
        rows = np.arange(n) if order == "sorted" else rng.permutation(n)
        acc = BootstrapAccumulator("regression", ["mean_error"], replicates=2000, groups=groups)
        acc.update(y[rows], y[rows] + err[rows])
        spread = acc.replicate_values()["mean_error"].std()
        # Monte-Carlo error: 1.6 % from B = 2000, 4.4 % from G = 256 (sqrt(2 / G) / 2)
        assert abs(spread / expected_sd - 1) < 0.15, order
        by_rows = _per_row_bootstrap(rng, err[rows], 2000)
        assert abs(by_rows.std() / expected_sd - 1) < 0.1


# -- point estimates and streaming ------------------------------------------------------------


def test_estimates_are_scikit_learns() -> None:
    rng = np.random.default_rng(5)
    labels = ["cat", "dog", "eel"]
    y = rng.choice(labels, 500)
    pred = np.where(rng.random(500) < 0.7, y, rng.choice(labels, 500))
    acc = BootstrapAccumulator("multiclass", replicates=100, labels=labels)
    acc.update(y, pred)
    got = acc.intervals()
    assert got["accuracy"].estimate == pytest.approx(skm.accuracy_score(y, pred), abs=1e-12)
    assert got["macro_f1"].estimate == pytest.approx(
        skm.f1_score(y, pred, average="macro"), abs=1e-12
    )

    yb, pb = (y == "dog").astype(int), (pred == "dog").astype(int)
    binary = BootstrapAccumulator("binary", replicates=100, labels=["no", "yes"])
    binary.update(np.where(yb, "yes", "no"), np.where(pb, "yes", "no"))  # positive: "yes"
    got = binary.intervals()
    assert got["f1"].estimate == pytest.approx(skm.f1_score(yb, pb), abs=1e-12)
    assert got["mcc"].estimate == pytest.approx(skm.matthews_corrcoef(yb, pb), abs=1e-12)
    assert all(i.low <= i.estimate <= i.high for i in got.values())

    yr = rng.normal(1e6, 2.0, 800)  # a large mean: the sums are taken about the first row
    pr = yr + rng.normal(0.0, 1.0, 800)
    reg = BootstrapAccumulator("regression", replicates=100)
    reg.update(yr, pr)
    got = reg.intervals()
    assert got["r2"].estimate == pytest.approx(skm.r2_score(yr, pr), abs=1e-9)
    assert got["rmse"].estimate == pytest.approx(math.sqrt(skm.mean_squared_error(yr, pr)))


@pytest.mark.parametrize(
    ("task", "groups"),
    [("binary", None), ("multiclass", None), ("regression", None), ("regression", 256)],
)
def test_every_chunk_size_gives_the_same_intervals(task: str, groups: int | None) -> None:
    """Bit for bit. With 256 groups, 2500 rows are two whole blocks of 1024 rows (summed
    straight from a large chunk, or gathered from small ones) and a partial one."""
    rng = np.random.default_rng(9)
    n = 2500
    extra = {} if groups is None else {"groups": groups}
    if task == "regression":
        y = rng.normal(size=n)
        pred = y + rng.normal(size=n)
        labels = None
    else:
        k = 2 if task == "binary" else 4
        y = rng.integers(0, k, n)
        pred = np.where(rng.random(n) < 0.7, y, rng.integers(0, k, n))
        labels = None if task == "binary" else list(range(k))
    results = []
    for chunk in (1, 7, 10_000):
        acc = BootstrapAccumulator(task, replicates=200, seed=4, labels=labels, **extra)
        _feed(acc, y, pred, chunk)
        results.append(acc.intervals())
    assert results[0] == results[1] == results[2]
    again = BootstrapAccumulator(task, replicates=200, seed=5, labels=labels, **extra)
    _feed(again, y, pred, 10_000)
    assert again.intervals() != results[0]  # another seed, other replicates


@pytest.mark.parametrize("groups", [poisson.GROUPS, 256])
def test_intervals_can_be_read_midway(groups: int) -> None:
    rng = np.random.default_rng(2)
    y, pred = rng.normal(size=3000), rng.normal(size=3000)
    midway = BootstrapAccumulator("regression", ["mae"], replicates=100, groups=groups)
    midway.update(y[:1500], pred[:1500])
    first = midway.intervals()
    midway.update(y[1500:], pred[1500:])
    whole = BootstrapAccumulator("regression", ["mae"], replicates=100, groups=groups)
    whole.update(y[:1500], pred[:1500])
    assert whole.intervals() == first
    whole.update(y[1500:], pred[1500:])
    assert midway.intervals() == whole.intervals()


# -- coverage ----------------------------------------------------------------------------------


def test_accuracy_interval_covers_the_truth_95_percent_of_the_time() -> None:
    """400 datasets of 2000 rows, B = 400: measured 93.5 % here (94.65 % over 2000 other
    datasets); asserted: inside the 99 % binomial band around 95 % (92.0 to 97.5 %)."""
    datasets, n, truth = 400, 2000, 0.8
    rng = np.random.default_rng(2026)
    y = rng.integers(0, 2, (datasets, n))
    pred = np.where(rng.random((datasets, n)) < truth, y, 1 - y)
    covered = 0
    for i in range(datasets):
        acc = BootstrapAccumulator("binary", ["accuracy"], replicates=400, seed=i)
        acc.update(y[i], pred[i])
        covered += acc.intervals()["accuracy"].contains(truth)
    low, high = _binary_band(datasets, 0.95)
    assert low <= covered / datasets <= high


def _regression_coverage(datasets: int, n: int, seed: int, groups: int) -> dict[str, int]:
    """y ~ N(3, 2²), errors N(0, 1): the true mean error is 0, RMSE 1, MAE sqrt(2 / pi) and
    R² 1 - 1 / 4. How many of the datasets' 95 % intervals (B = 300) contain each."""
    truth = {"mean_error": 0.0, "rmse": 1.0, "mae": math.sqrt(2 / math.pi), "r2": 0.75}
    rng = np.random.default_rng(seed)
    y = rng.normal(3.0, 2.0, (datasets, n))
    pred = y + rng.normal(0.0, 1.0, (datasets, n))
    covered = dict.fromkeys(truth, 0)
    for i in range(datasets):
        acc = BootstrapAccumulator("regression", list(truth), replicates=300, seed=i, groups=groups)
        acc.update(y[i], pred[i])
        got = acc.intervals()
        for name, value in truth.items():
            covered[name] += got[name].contains(value)
    return covered


def test_regression_intervals_cover_the_truth() -> None:
    """1024 rows per dataset: fewer than G, every row its own group (the per-row bootstrap).
    With few replicates the percentile interval of RMSE covers a little less than 95 % (94 %
    measured over 600 datasets with 200 replicates, 94.5 % with 1000), well inside the band.
    """
    datasets = 300
    covered = _regression_coverage(datasets, 1024, seed=7, groups=poisson.GROUPS)
    low, high = _binary_band(datasets, 0.95)
    for name, count in covered.items():
        assert low <= count / datasets <= high, name


def test_random_group_intervals_cover_the_truth() -> None:
    """The random-group bootstrap itself: 8 x G rows per dataset with G = 256 (in use, G is
    16384 and its Monte-Carlo error smaller still)."""
    datasets = 300
    covered = _regression_coverage(datasets, 8 * 256, seed=17, groups=256)
    low, high = _binary_band(datasets, 0.95)
    for name, count in covered.items():
        assert low <= count / datasets <= high, name


# -- bad input -------------------------------------------------------------------------------


def test_metric_names_per_task() -> None:
    assert metric_names("binary")[0] == "accuracy" and "mcc" in metric_names("binary")
    assert "macro_f1" in metric_names("multiclass")
    assert set(metric_names("regression")) == {"mae", "mse", "rmse", "r2", "mean_error"}


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"task": "ranking"}, "Unknown task 'ranking'"),
        ({"task": "binary", "metrics": ["acuracy"]}, "Did you mean 'accuracy'"),
        ({"task": "binary", "metrics": ["roc_auc"]}, "rank metric"),
        ({"task": "binary", "metrics": []}, "at least one metric"),
        ({"task": "binary", "replicates": 99}, "at least 100"),
        ({"task": "binary", "seed": -1}, "seed"),
        ({"task": "multiclass"}, "needs the class labels"),
        ({"task": "binary", "labels": ["a", "b", "c"]}, "two labels"),
        ({"task": "binary", "labels": ["a", "a"]}, "repeat"),
        ({"task": "regression", "labels": [0, 1]}, "classification"),
        ({"task": "regression", "groups": 99}, "groups must be a whole number >= 100"),
        ({"task": "regression", "groups": 1.5e4}, "groups must be a whole number"),
    ],
)
def test_bad_settings_are_input_errors(kwargs: dict, words: str) -> None:
    with pytest.raises(InputError, match=words):
        BootstrapAccumulator(**kwargs)


def test_bad_rows_are_input_errors() -> None:
    acc = BootstrapAccumulator("binary", replicates=100)
    acc.update([0, 1, 1], [0, 1, 0])
    with pytest.raises(InputError, match=r"y_true holds 2 at row 4, which is not one of"):
        acc.update([1, 2], [1, 1])
    with pytest.raises(InputError, match="y_pred has 1 rows but y_true has 2"):
        acc.update([1, 0], [1])
    with pytest.raises(InputError, match="one column"):
        acc.update([[1, 0]], [[1, 0]])
    with pytest.raises(InputError, match="between 0 and 1"):
        acc.intervals(level=95)
    with pytest.raises(InputError, match="no rows"):
        BootstrapAccumulator("binary", replicates=100).intervals()
    with pytest.raises(InputError, match=r"y_true holds 'a' at row 0, which is not one of the"):
        BootstrapAccumulator("binary", replicates=100).update(["a"], ["b"])
    with pytest.raises(InputError, match="y_true is missing at row 4;"):
        acc.update(np.array([0, None], dtype=object), np.array([0, 1], dtype=object))
    with pytest.raises(InputError, match="y_pred is missing at row 4;"):
        acc.update([0, 1], [1.0, math.nan])
    reg = BootstrapAccumulator("regression", replicates=100)
    with pytest.raises(InputError, match=r"y_pred holds nan at row 1;"):
        reg.update([1.0, 2.0], [1.0, float("nan")])
    with pytest.raises(InputError, match="must hold numbers"):
        reg.update(["x"], ["y"])


def test_finite_numbers_whose_sum_overflows_are_accepted() -> None:
    """The chunk check sums each column: a sum that overflows is looked at row by row."""
    reg = BootstrapAccumulator("regression", ["mae"], replicates=100)
    reg.update([1e308, 1e308], [1e308, 1e308])
    with pytest.raises(InputError, match=r"y_true holds -inf at row 3;"):
        reg.update([1e308, -math.inf], [1.0, 2.0])
    assert reg.rows == 2


def test_interval_contains() -> None:
    interval = Interval(0.1, 0.3, 0.2)
    assert interval.contains(0.1) and interval.contains(0.3) and not interval.contains(0.31)
    assert interval.level == 0.95
