"""mlops_ci/evaluation/evidence.py: base and head predictions read in lockstep, and what they show.

Real predictions files, written with the evaluate stage's own writer; no DVC here (that is
tests/test_gates_noise.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from factories import make_report
from mlops_ci.compare import compare_metrics
from mlops_ci.config import Config, MetricsConfig, load_config
from mlops_ci.errors import ConfigError
from mlops_ci.evaluation.evidence import BaseSide, compute_evidence
from mlops_ci.evaluation.predictions import PredictionsMeta
from mlops_ci.evaluation.predictions_writer import write_predictions
from mlops_ci.evidence_report import with_evidence
from mlops_ci.gates_evidence import judge_gates

META = PredictionsMeta(
    task="binary", target="label", labels=(0, 1), pos_label=1, slices=("sex",),
    metrics_file="eval/metrics.json",
)


def config(tmp_path: Path, gates: str, evaluation: str = "") -> Config:
    (tmp_path / "mlops.yaml").write_text(
        "model: {name: m, path: model.pkl}\n"
        f"evaluation:\n  slices: [sex]\n  replicates: 200\n{evaluation}"
        f"gates:\n{gates}"
    )
    return load_config(tmp_path / "mlops.yaml", pipeline=False)


def write(path: Path, y_true, y_pred, sex=None, meta: PredictionsMeta = META) -> Path:
    n = len(y_true)
    if sex is None:
        sex = np.where(np.arange(n) % 2 == 0, "female", "male").astype(object)
    write_predictions(path, meta, {
        "row": np.arange(n), "y_true": np.asarray(y_true), "y_pred": np.asarray(y_pred),
        "slice:sex": np.asarray(sex, dtype=object),
    })
    return path


def flipped(y: np.ndarray, wrong: np.ndarray) -> np.ndarray:
    out = y.copy()
    out[wrong] = 1 - out[wrong]
    return out


def accuracy_metrics(base: float, head: float):
    return compare_metrics(
        {"eval/metrics.json": {"accuracy": head}}, {"eval/metrics.json": {"accuracy": base}},
        MetricsConfig(),
    )


MCNEMAR = "  - metric: accuracy\n    max_drop: 0\n    test: mcnemar\n"


def test_a_small_drop_on_few_rows_is_within_noise(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    base_wrong = np.arange(30)  # 90 % right
    head_wrong = np.r_[np.arange(2, 30), 100, 101, 102]  # 2 fixed, 3 broken: one row net
    head = write(tmp_path / "head.parquet", y, flipped(y, head_wrong))
    base = write(tmp_path / "base.parquet", y, flipped(y, base_wrong))
    cfg = config(tmp_path, MCNEMAR)
    ms = accuracy_metrics(0.9, 0.9 - 1 / 300)
    evidence = compute_evidence(cfg, head, BaseSide(base, declared=True), ms)
    facts = evidence.facts[0].test
    assert facts is not None and facts.p_value == pytest.approx(1.0)  # b=3, c=2
    assert facts.estimate == pytest.approx(-1 / 300)
    assert evidence.info.rows == 300 and evidence.info.base_rows == 300
    assert evidence.info.confusion is not None and evidence.info.confusion["labels"] == ["0", "1"]
    head_interval, base_interval = evidence.intervals["accuracy"]
    assert head_interval is not None and head_interval[0] < 0.9 - 1 / 300 < head_interval[1]
    assert base_interval is not None and base_interval[0] < 0.9 < base_interval[1]
    (gate,) = judge_gates(cfg.gates, ms, evidence.facts, digits=4)
    assert gate.verdict == "pass" and gate.significance == "within noise"


def test_a_big_drop_on_many_rows_is_significant(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 5000)
    head = write(tmp_path / "head.parquet", y, flipped(y, np.arange(1000)))  # 80 %
    base = write(tmp_path / "base.parquet", y, flipped(y, np.arange(500)))  # 90 %
    cfg = config(tmp_path, MCNEMAR.replace("mcnemar", "paired_bootstrap"))
    ms = accuracy_metrics(0.9, 0.8)
    evidence = compute_evidence(cfg, head, BaseSide(base, declared=True), ms)
    facts = evidence.facts[0].test
    assert facts is not None and facts.p_value < 0.01 and facts.high < 0
    (gate,) = judge_gates(cfg.gates, ms, evidence.facts, digits=4)
    assert gate.verdict == "fail" and gate.significance == "significant"


def test_a_test_set_that_changed_refuses_the_test_and_keeps_the_intervals(tmp_path: Path) -> None:
    y = np.tile([0, 1], 100)
    head = write(tmp_path / "head.parquet", y, y)
    other = y.copy()
    other[17] = 1 - other[17]
    base = write(tmp_path / "base.parquet", other, other)
    cfg = config(tmp_path, MCNEMAR)
    ms = accuracy_metrics(1.0, 1.0)
    evidence = compute_evidence(cfg, head, BaseSide(base, declared=True), ms)
    assert evidence.facts[0].test is None
    note = evidence.facts[0].note or ""
    assert "The test set changed between revisions" in note and "Row 17" in note
    assert evidence.info.note == note and evidence.info.base_rows == 200
    assert evidence.intervals["accuracy"][0] == [1.0, 1.0]


def test_different_row_counts_refuse_the_test(tmp_path: Path) -> None:
    head = write(tmp_path / "head.parquet", [0, 1, 1], [0, 1, 0])
    base = write(tmp_path / "base.parquet", [0, 1], [0, 1])
    cfg = config(tmp_path, MCNEMAR)
    evidence = compute_evidence(cfg, head, BaseSide(base, declared=True), accuracy_metrics(1, 0.6))
    assert evidence.facts[0].test is None
    assert "2 rows and the head's 3" in (evidence.facts[0].note or "")


SLICE = "  - metric: recall\n    min: 0.8\n    slice: {sex: female}\n"


def test_a_slice_gate_judges_the_slices_rows(tmp_path: Path) -> None:
    y = np.array([1, 1, 1, 1, 0, 1, 0, 1])
    pred = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    sex = np.array(["female", "male"] * 4, dtype=object)  # female: rows 0, 2, 4, 6
    head = write(tmp_path / "head.parquet", y, pred, sex)
    base = write(tmp_path / "base.parquet", y, y, sex)
    cfg = config(tmp_path, SLICE)
    evidence = compute_evidence(cfg, head, BaseSide(base, declared=True), [])
    metric = evidence.facts[0].metric
    assert metric is not None and metric.head == 0.0 and metric.base == 1.0  # 0 of 2 positives
    (gate,) = judge_gates(cfg.gates, [], evidence.facts, digits=4)
    assert gate.verdict == "fail" and gate.slice == {"sex": "female"} and gate.head == 0.0


@pytest.mark.parametrize(
    ("gates", "message"),
    [
        (SLICE.replace("female", "femal"),
         "mlops.yaml, line 6: gates[0] slice {sex: 'femal'} matches no row of "
         "eval/predictions.parquet; the values of sex there: 'female', 'male'."),
        (SLICE.replace("sex: female", "age: 3"),
         "mlops.yaml, line 6: gates[0] slices by 'age', which is not a slice column of "
         "eval/predictions.parquet (its slice columns: sex)."),
        (SLICE.replace("recall", "r2"),
         "mlops.yaml, line 6: gates[0] judges 'r2' on a slice, which a binary task's "
         "predictions do not give; choose among accuracy,"),
        (SLICE.replace("recall", "roc_auc"),
         "mlops.yaml, line 6: gates[0] judges 'roc_auc' on a slice, but "
         "eval/predictions.parquet has no scores to compute it from"),
        ("  - metric: f1\n    max_drop: 0\n    test: paired_bootstrap\n    slice: {sex: m}\n",
         "mlops.yaml, line 6: gates[0] slice {sex: 'm'} matches no row"),
    ],
)
def test_a_gate_the_predictions_cannot_judge_is_a_config_error(
    tmp_path: Path, gates: str, message: str
) -> None:
    head = write(tmp_path / "head.parquet", [0, 1, 1, 0], [0, 1, 0, 0])
    cfg = config(tmp_path, gates)
    ms = compare_metrics({"eval/metrics.json": {"roc_auc": 0.9}}, None, MetricsConfig())
    with pytest.raises(ConfigError) as caught:
        compute_evidence(cfg, head, BaseSide(None, "no base"), ms)
    assert str(caught.value).startswith(message), str(caught.value)


def test_a_base_without_predictions_judges_point_values_and_says_why(tmp_path: Path) -> None:
    head = write(tmp_path / "head.parquet", [0, 1, 1, 0], [0, 1, 0, 0])
    cfg = config(tmp_path, MCNEMAR + SLICE)
    ms = accuracy_metrics(1.0, 0.75)
    note = "main has no eval/predictions.parquet."
    evidence = compute_evidence(cfg, head, BaseSide(None, note), ms)
    assert evidence.info.base_rows is None and evidence.info.note == note
    drop, on_slice = judge_gates(cfg.gates, ms, evidence.facts, digits=4)
    assert drop.verdict == "fail" and drop.evidence_note == note
    assert on_slice.verdict == "fail" and on_slice.head == 0.0  # min: the head's value decides
    assert on_slice.evidence_note is None
    declared = compute_evidence(
        cfg, head, BaseSide(None, "not pushed", declared=True), ms
    ).facts[1].metric
    assert declared is not None and declared.change == "unknown"


def test_with_evidence_attaches_intervals_to_the_predictions_metrics_file(tmp_path: Path) -> None:
    y = np.tile([0, 1, 1, 0, 1], 40)
    head = write(tmp_path / "head.parquet", y, y)
    base = write(tmp_path / "base.parquet", y, flipped(y, np.arange(5)))
    cfg = config(tmp_path, MCNEMAR.replace("accuracy", "eval/metrics.json:accuracy").replace(
        "mcnemar", "paired_bootstrap"))  # McNemar's test names accuracy alone (config.py)
    ms = [
        *accuracy_metrics(0.975, 1.0),
        *compare_metrics({"other.json": {"accuracy": 0.5}}, None, MetricsConfig()),
    ]
    report = make_report(metrics=ms, gates=judge_gates(cfg.gates, ms, {}, digits=4))
    evidence = compute_evidence(cfg, head, BaseSide(base, declared=True), ms)
    judged = with_evidence(report, cfg, evidence)
    ours, other = judged.metrics
    assert ours.head_interval == [1.0, 1.0]
    assert ours.base_interval is not None and ours.base_interval[0] < 0.975 < ours.base_interval[1]
    assert other.head_interval is None and other.base_interval is None
    assert judged.evaluation == evidence.info
    assert judged.gates[0].p_value is not None


def test_a_parquet_of_the_projects_own_at_the_default_path_is_left_alone(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mlops_ci.errors import InputError
    from mlops_ci.evidence_report import attach_evidence
    from mlops_ci.revisions import BaseChoice

    (tmp_path / "eval").mkdir()
    pq.write_table(pa.table({"x": [1, 2]}), tmp_path / "eval" / "predictions.parquet")
    (tmp_path / "mlops.yaml").write_text("model: {name: m, path: model.pkl}\n")
    report = make_report()
    first_run = BaseChoice(rev=None, ref=None, description="none")
    plain = load_config(tmp_path / "mlops.yaml", pipeline=False)
    assert attach_evidence(tmp_path, plain, first_run, report) is report
    declared = config(tmp_path, "  - metric: accuracy\n    min: 0.5\n")
    with pytest.raises(InputError, match="is a parquet file but not a predictions file"):
        attach_evidence(tmp_path, declared, first_run, report)


def test_the_first_run_reads_the_heads_predictions_alone(tmp_path: Path) -> None:
    from mlops_ci.evidence_report import attach_evidence
    from mlops_ci.revisions import BaseChoice

    (tmp_path / "eval").mkdir()
    write(tmp_path / "eval" / "predictions.parquet", [0, 1, 1, 0], [0, 1, 0, 0])
    cfg = config(tmp_path, "  - metric: accuracy\n    min: 0.5\n")
    ms = compare_metrics({"eval/metrics.json": {"accuracy": 0.75}}, None, MetricsConfig())
    report = make_report(metrics=ms, gates=judge_gates(cfg.gates, ms, {}, digits=4))
    judged = attach_evidence(tmp_path, cfg, BaseChoice(rev=None, ref=None, description=""), report)
    assert judged.evaluation is not None and judged.evaluation.base_rows is None
    assert "no base revision" in (judged.evaluation.note or "")
    assert judged.metrics[0].head_interval is not None and judged.metrics[0].base_interval is None


def test_multiclass_and_regression_predictions_are_tested_too(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 600
    y = rng.integers(0, 3, n)
    meta = PredictionsMeta(task="multiclass", target="k", labels=(0, 1, 2), slices=("sex",),
                           metrics_file="eval/metrics.json")
    proba = np.full((n, 3), 0.2)
    for name, wrong in (("base", 60), ("head", 240)):
        pred = y.copy()
        pred[:wrong] = (pred[:wrong] + 1) % 3
        proba_cols = {f"y_proba_{i}": proba[:, i] for i in range(3)}
        write_predictions(tmp_path / f"{name}.parquet", meta, {
            "row": np.arange(n), "y_true": y, "y_pred": pred, **proba_cols,
            "slice:sex": np.where(np.arange(n) % 2 == 0, "f", "m").astype(object),
        })
    cfg = config(tmp_path, "  - metric: macro_f1\n    max_drop: 0\n    test: paired_bootstrap\n"
                 "  - metric: log_loss\n    max: 5\n    slice: {sex: f}\n")
    ms = compare_metrics({"eval/metrics.json": {"macro_f1": 0.6}},
                         {"eval/metrics.json": {"macro_f1": 0.9}}, MetricsConfig())
    evidence = compute_evidence(
        cfg, tmp_path / "head.parquet", BaseSide(tmp_path / "base.parquet", declared=True), ms
    )
    drop, loss = judge_gates(cfg.gates, ms, evidence.facts, digits=4)
    assert drop.verdict == "fail" and drop.significance == "significant"
    assert loss.verdict == "pass" and loss.head == pytest.approx(-np.log(0.2))
    assert evidence.info.confusion is not None and len(evidence.info.confusion["head"]) == 3

    regression = PredictionsMeta(task="regression", target="y", slices=("sex",),
                                 metrics_file="eval/metrics.json")
    target = rng.normal(size=n)
    for name, noise in (("base", 0.5), ("head", 0.52)):
        write_predictions(tmp_path / f"r{name}.parquet", regression, {
            "row": np.arange(n), "y_true": target,
            "y_pred": target + np.random.default_rng(9).normal(size=n) * noise,
            "slice:sex": np.where(np.arange(n) % 2 == 0, "f", "m").astype(object),
        })
    cfg = config(tmp_path, "  - metric: rmse\n    max_increase: 0\n    test: paired_bootstrap\n")
    ms = compare_metrics({"eval/metrics.json": {"rmse": 0.52}},
                         {"eval/metrics.json": {"rmse": 0.5}}, MetricsConfig())
    evidence = compute_evidence(
        cfg, tmp_path / "rhead.parquet", BaseSide(tmp_path / "rbase.parquet", declared=True), ms
    )
    (rise,) = judge_gates(cfg.gates, ms, evidence.facts, digits=4)
    # the same noise, scaled by 4 %: every replicate sees the head worse, so the rise is real
    assert rise.verdict == "fail" and rise.difference is not None and rise.difference[0] > 0
    assert evidence.info.confusion is None


def test_delong_tests_roc_auc_from_the_scores(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 2000
    y = rng.integers(0, 2, n)
    for name, signal in (("base", 2.0), ("head", 0.5)):
        score = 1 / (1 + np.exp(-(signal * (2 * y - 1) + rng.normal(size=n))))
        write_predictions(tmp_path / f"{name}.parquet", META, {
            "row": np.arange(n), "y_true": y, "y_pred": (score > 0.5).astype(int),
            "y_score": score,
            "slice:sex": np.where(np.arange(n) % 2 == 0, "female", "male").astype(object),
        })
    cfg = config(tmp_path, "  - metric: roc_auc\n    max_drop: 0\n    test: delong\n"
                 "  - metric: roc_auc\n    max_drop: 0\n    test: delong\n"
                 "    slice: {sex: female}\n")
    ms = compare_metrics({"eval/metrics.json": {"roc_auc": 0.7}},
                         {"eval/metrics.json": {"roc_auc": 0.9}}, MetricsConfig())
    evidence = compute_evidence(
        cfg, tmp_path / "head.parquet", BaseSide(tmp_path / "base.parquet", declared=True), ms
    )
    overall, female = judge_gates(cfg.gates, ms, evidence.facts, digits=4)
    assert overall.verdict == "fail" and overall.test == "delong" and overall.p_value < 1e-6
    # ROC AUC's interval beside its value is DeLong's (the bootstrap cannot resample ranks)
    from sklearn.metrics import roc_auc_score

    from mlops_ci.evaluation.delong import auc_interval
    from mlops_ci.evaluation.ranking import ScoreCounts

    counts = ScoreCounts()
    counts.update(score, y)  # the head's scores, the loop's last
    expected = auc_interval(counts, 0.95)
    head_interval, base_interval = evidence.intervals["roc_auc"]
    assert head_interval == pytest.approx([expected.low, expected.high], abs=1e-12)
    assert head_interval[0] < roc_auc_score(y, score) < head_interval[1]
    assert base_interval is not None and base_interval[0] > head_interval[1]
    assert female.verdict == "fail" and female.difference is not None
    assert female.difference[1] < 0

    write(tmp_path / "plain.parquet", y, y)  # no scores at the base
    evidence = compute_evidence(
        cfg, tmp_path / "head.parquet", BaseSide(tmp_path / "plain.parquet", declared=True), ms
    )
    assert evidence.facts[0].test is None
    assert "base's predictions have no scores" in (evidence.facts[0].note or "")
    (drop, _) = judge_gates(cfg.gates, ms, evidence.facts, digits=4)
    assert drop.verdict == "fail" and "no scores" in (drop.evidence_note or "")
