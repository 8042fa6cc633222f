"""The artifact's base thrown away and the trusted one put in (`trusted_base.rebase`): pure.

The I/O half, reading the base commit in a real git and dvc checkout, is tested through the
whole command in test_comment_trusted_base.py.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from test_rejudge import trusted

from factories import make_metric, make_report
from mlops_ci.pipeline import Snapshot
from mlops_ci.rejudge import rejudge
from mlops_ci.report import Report, Revision
from mlops_ci.trusted_base import TrustedBase, not_in_checkout, rebase

SHA = "5e" * 20
GATE = "  - metric: accuracy\n    min: 0.5\n    max_drop: 0.01\n"


def forged(base: float | None, head: float = 0.85) -> Report:
    return make_report(
        metrics=[make_metric("accuracy", base, head), make_metric("gone", 1.0, None)],
        base=Revision(rev="12" * 20, ref="evil", description="forged"),
    )


def read(metrics: dict[str, dict[str, object]], unreadable: dict[str, str] | None = None
         ) -> TrustedBase:
    return TrustedBase(SHA, "main", Snapshot(metrics=metrics, unreadable=unreadable or {}))


def test_the_base_values_and_revision_are_the_trusted_ones() -> None:
    rebased = rebase(forged(base=0.85), read({"metrics.json": {"accuracy": 0.9}}), None)
    assert (rebased.base.rev, rebased.base.ref) == (SHA, "main")
    (accuracy,) = rebased.metrics  # "gone" was the artifact's word alone
    assert (accuracy.base, accuracy.head, accuracy.change) == (0.9, 0.85, "worse")


def test_a_metric_the_trusted_base_has_and_the_report_lacks_is_removed(tmp_path: Path) -> None:
    base = read({"metrics.json": {"accuracy": 0.9, "f1": 0.8}})
    config = trusted(tmp_path, "  - metric: f1\n    max_drop: 0.01\n")
    rebased = rebase(forged(base=None), base, config)
    assert [(m.name, m.change) for m in rebased.metrics] == [
        ("accuracy", "worse"), ("f1", "removed")
    ]
    judged = rejudge(rebased, config)
    assert judged.unjudgeable == ("f1",) and judged.report.verdict.status == "fail"


def test_a_declared_file_the_trusted_base_could_not_read_is_unknown() -> None:
    base = read({}, unreadable={"metrics.json": "metrics.json at main is in no cache."})
    (accuracy,) = rebase(forged(base=0.85), base, None).metrics
    assert (accuracy.base, accuracy.change) == (None, "unknown")
    assert accuracy.base_note == "metrics.json at main is in no cache."


def test_without_the_base_commit_every_base_is_unknown_and_relative_gates_fail(
    tmp_path: Path
) -> None:
    config = trusted(tmp_path, GATE, extra="base: {missing: warn}\n")
    base = TrustedBase(SHA, "main", None, problem=not_in_checkout(SHA))
    rebased = rebase(forged(base=0.85), base, config)
    (accuracy,) = rebased.metrics
    assert (accuracy.base, accuracy.change) == (None, "unknown")
    judged = rejudge(rebased, config, base_rev=SHA, base_problem=base.problem)
    by_rule = {g.rule: g for g in judged.report.gates}
    assert by_rule["min"].verdict == "pass"
    drop = by_rule["max_drop"]
    assert (drop.verdict, drop.severity) == ("fail", "error")  # not softened by `missing: warn`
    assert "fetch-depth: 0" in drop.explanation
    assert judged.report.verdict.status == "fail" and judged.base_problem == base.problem


def test_a_metric_moved_to_another_file_is_not_new() -> None:
    moved = replace(forged(base=None), metrics=[make_metric("accuracy", None, 0.5,
                                                            file="renamed.json")])
    (accuracy, base_only) = rebase(moved, read({"metrics.json": {"accuracy": 0.9}}), None).metrics
    assert (accuracy.file, accuracy.change) == ("renamed.json", "unknown")
    assert accuracy.base_note is not None and "in metrics.json" in accuracy.base_note
    assert (base_only.file, base_only.change) == ("metrics.json", "removed")


def test_a_new_metric_the_trusted_base_does_not_have_stays_new() -> None:
    (accuracy,) = rebase(forged(base=None), read({"other.json": {"f1": 0.8}}), None).metrics[:1]
    assert accuracy.change == "new"


def test_a_declared_file_it_could_not_read_follows_the_trusted_base_missing(
    tmp_path: Path
) -> None:
    config = trusted(tmp_path, GATE, extra="base: {missing: warn}\n")
    base = read({}, unreadable={"metrics.json": "metrics.json at main is in no cache."})
    judged = rejudge(rebase(forged(base=0.85), base, config), config, base_rev=SHA)
    drop = next(g for g in judged.report.gates if g.rule == "max_drop")
    assert (drop.verdict, drop.severity) == ("fail", "warning")
    assert "in no cache" in drop.explanation


def test_a_metric_the_report_lists_twice_in_one_file_is_not_judged(tmp_path: Path) -> None:
    twins = replace(forged(base=0.9, head=0.5), metrics=[
        make_metric("accuracy", 0.9, 0.5), make_metric("accuracy", 0.9, 0.9)
    ])
    config = trusted(tmp_path, GATE)
    rebased = rebase(twins, read({"metrics.json": {"accuracy": 0.9}}), config)
    assert [(m.name, m.change) for m in rebased.metrics] == [("accuracy", "removed")]
    judged = rejudge(rebased, config)
    assert judged.unjudgeable == ("accuracy",) and judged.report.verdict.status == "fail"
