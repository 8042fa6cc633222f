"""A fork's evidence never turns a failing gate into a pass (docs/security.md).

The artifact's p-values, intervals, significance and slice values are the pull request
author's to forge, and the trusted workflow does not read the fork's predictions. Through the
real `mlops-ci comment` path (real git and dvc, the local GitHub API): a tested gate is judged on
point values alone and says why; a slice gate fails with error severity. Each test fails on a
commenter that believes the artifact's evidence.
"""

from __future__ import annotations

from pathlib import Path

from test_comment_command import artifact, run_comment, workflow_run_env
from test_comment_trusted_base import based_on, posted_and_state

from conftest import git, new_dvc_repo
from factories import make_metric, make_report
from github_fake import FakeGitHub
from mlops_ci.report import EvaluationInfo, GateResult, Report, Revision

TRUSTED = """\
model: {name: m, path: model.pkl}
gates:
  - metric: accuracy
    max_drop: 0
    test: mcnemar
  - metric: recall
    min: 0.8
    slice: {sex: female}
"""


def base_project(root: Path) -> str:
    new_dvc_repo(root)
    (root / "dvc.yaml").write_text("metrics:\n  - metrics.json\n")
    (root / "mlops.yaml").write_text(TRUSTED)
    (root / "metrics.json").write_text('{"accuracy": 0.9, "recall": 0.9}')
    git("add", "-A", cwd=root)
    git("commit", "-qm", "base", cwd=root)
    return git("rev-parse", "HEAD", cwd=root)


def forged_gate(metric: str, rule: str, **fields: object) -> GateResult:
    return GateResult(
        metric=metric, rule=rule, threshold=0.0, threshold_text="0", relative=False,  # type: ignore[arg-type]
        severity="error", verdict="pass", base=0.9, head=0.99, limit=0.9,
        explanation=f"{metric} FORGED within noise", gate_index=0, line=3, **fields,  # type: ignore[arg-type]
    )


def forged_report() -> Report:
    """Accuracy fell 0.9 -> 0.8; the report claims it is noise, and a perfect female recall."""
    accuracy = make_metric("accuracy", 0.9, 0.8)
    accuracy.base_interval = [0.5, 0.99]
    accuracy.head_interval = [0.5, 0.99]
    gates = [
        forged_gate("accuracy", "max_drop", test="mcnemar", alpha=0.05, p_value=0.93,
                    difference=[-0.3, 0.2], significance="within noise"),
        forged_gate("recall", "min", slice={"sex": "female"}),
    ]
    return make_report(
        metrics=[accuracy, make_metric("recall", 0.9, 0.95)], gates=gates,
        base=Revision(rev="12" * 20, ref="main"),
        evaluation=EvaluationInfo(
            predictions="eval/predictions.parquet", task="binary", rows=100, base_rows=100,
            confidence=0.95, replicates=1000, seed=0, note="FORGED base note",
            confusion={"labels": ["0", "1"], "head": [[1, 0], [0, 1]],
                       "base": [[0, 1], [1, 0]]},
        ),
    )


def test_forged_evidence_cannot_pass_a_tested_or_a_slice_gate(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    checkout = tmp_path / "checkout"
    based_on(github_api, base_project(checkout))
    path = artifact(tmp_path, forged_report())

    assert run_comment(workflow_run_env(github_api, tmp_path), path, cwd=checkout) == 0

    body, state = posted_and_state(github_api)
    assert state == "failure", body
    assert "FORGED" not in body
    assert "within noise" not in body and "0.93" not in body
    assert "accuracy fell by 0.1000, from 0.9000 to 0.8000" in body
    assert "a fork's evidence is not trusted" in body
    assert "recall on the slice {sex: female} was not judged, so the gate fails" in body


def test_the_rejudged_report_keeps_no_forged_evidence(tmp_path: Path) -> None:
    from mlops_ci.config import load_config
    from mlops_ci.rejudge import rejudge

    root = tmp_path / "checkout"
    base_project(root)
    judged = rejudge(forged_report(), load_config(root / "mlops.yaml")).report
    drop, female = judged.gates
    assert drop.verdict == "fail" and drop.p_value is None and drop.difference is None
    assert drop.significance is None and "not trusted" in (drop.evidence_note or "")
    assert female.verdict == "fail" and female.severity == "error" and female.head is None
    assert judged.verdict.status == "fail"
    assert all(m.base_interval is None for m in judged.metrics)
    assert judged.evaluation is not None and judged.evaluation.base_rows is None
    assert judged.evaluation.confusion is not None and judged.evaluation.confusion["base"] is None
    assert "FORGED" not in (judged.evaluation.note or "")
