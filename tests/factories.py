"""Realistic, deterministic Report objects for tests.

``make_report()`` is a passing pull request on a churn classifier; the variants change one
thing each. Keyword overrides replace top-level Report fields; when ``gates`` is overridden and
``verdict`` is not, the verdict is recomputed from the gates, so the report stays consistent.
"""

from __future__ import annotations

from typing import Any

from mlops_ci import __version__
from mlops_ci.report import (
    CardInfo,
    DataVersion,
    GateResult,
    Lineage,
    MetricDiff,
    ModelInfo,
    ParamDiff,
    Report,
    Revision,
    Verdict,
)

BASE_SHA = "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b"
HEAD_SHA = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"
CREATED_AT = "2024-05-01T12:00:00Z"


def make_metric(
    name: str = "accuracy",
    base: Any = 0.8812,
    head: Any = 0.8795,
    *,
    file: str = "metrics.json",
    higher_is_better: bool = True,
    primary: bool = False,
    change: Any = None,
) -> MetricDiff:
    """A metric diff whose delta, percentage and change follow from base and head."""
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (base, head))
    delta = head - base if numeric else None
    delta_pct = None
    if delta is not None and base != 0:
        delta_pct = 100 * delta / abs(base)
    if change is None:
        if base is None:
            change = "new"
        elif head is None:
            change = "removed"
        elif head == base:
            change = "unchanged"
        elif delta is None:
            change = "changed"
        else:
            change = "better" if (delta > 0) == higher_is_better else "worse"
    return MetricDiff(
        name=name, file=file, base=base, head=head, delta=delta, delta_pct=delta_pct,
        higher_is_better=higher_is_better, change=change, primary=primary,
    )


def make_gate(
    metric: str = "accuracy",
    rule: Any = "max_drop",
    threshold: float = 0.01,
    *,
    verdict: Any = "pass",
    severity: Any = "error",
    base: Any = 0.8812,
    head: Any = 0.8795,
    explanation: str | None = None,
    gate_index: int = 0,
    line: int | None = 12,
) -> GateResult:
    limit = base - threshold if rule == "max_drop" and base is not None else threshold
    if explanation is None:
        explanation = f"{metric} is {head} ({rule} {threshold}: limit {limit:.4f})"
    return GateResult(
        metric=metric, rule=rule, threshold=threshold, threshold_text=str(threshold),
        relative=False, severity=severity, verdict=verdict, base=base, head=head, limit=limit,
        explanation=explanation, gate_index=gate_index, line=line,
    )


def verdict_for(gates: list[GateResult]) -> Verdict:
    failed = [g for g in gates if g.verdict == "fail" and g.severity == "error"]
    warned = [g for g in gates if g.verdict == "fail" and g.severity == "warning"]
    if failed:
        summary = f"{len(failed)} gate{'s' if len(failed) != 1 else ''} failed: " + "; ".join(
            g.explanation for g in failed
        )
    elif warned:
        summary = f"{len(warned)} warning{'s' if len(warned) != 1 else ''}: " + "; ".join(
            g.explanation for g in warned
        )
    else:
        summary = f"All {len(gates)} gate rules passed." if gates else "No gates are declared."
    return Verdict(
        status="fail" if failed else "pass", failed=len(failed), warnings=len(warned),
        summary=summary,
    )


def make_card(**overrides: Any) -> CardInfo:
    fields: dict[str, Any] = {
        "description": "Predicts which customers will cancel their subscription next month.",
        "intended_use": "Ranking accounts for the retention team's weekly outreach.",
        "out_of_scope_use": "Decisions about pricing, credit or employment.",
        "factors": "Results are reported overall; plan type and region are known to matter.",
        "training_data": "Twelve months of anonymised account activity, 2023.",
        "evaluation_data": "A stratified 20% hold-out of the same period.",
        "limitations": "Trained on one market; accounts younger than 30 days are rare.",
        "ethical_considerations": "No protected attributes are used as features.",
        "caveats": "Re-train when the product's plans change.",
        "owners": ["@acme/ml-team"],
        "license": "apache-2.0",
        "tags": ["tabular", "churn"],
        "datasets": ["acme/churn-2023"],
        "language": ["en"],
    }
    fields.update(overrides)
    return CardInfo(**fields)


def _default_fields() -> dict[str, Any]:
    return {
        "title": "Model report",
        "digits": 4,
        "model": ModelInfo(
            name="churn-classifier", path="models/model.pkl", task="binary-classification",
        ),
        "primary_metric": "roc_auc",
        "base": Revision(rev=BASE_SHA, ref="main", description="merge-base with main"),
        "head": Revision(rev=HEAD_SHA, ref="feature/deeper-trees", description="pull request head"),
        "metrics": [
            make_metric("accuracy", 0.8812, 0.8795),
            make_metric("roc_auc", 0.9123, 0.9287, primary=True),
            make_metric("f1", 0.7702, 0.7702),
            make_metric("log_loss", 0.3121, 0.2987, higher_is_better=False),
            make_metric("n_test", 1200, 1200),
        ],
        "params": [
            ParamDiff("train.n_estimators", "params.yaml", 100, 200, "modified"),
            ParamDiff("train.max_depth", "params.yaml", 8, 12, "modified"),
        ],
        "params_head": {
            "params.yaml:prepare.test_size": 0.2,
            "params.yaml:train.n_estimators": 200,
            "params.yaml:train.max_depth": 12,
            "params.yaml:train.seed": 42,
        },
        "gates": [
            make_gate("roc_auc", "min", 0.85, base=0.9123, head=0.9287, gate_index=0, line=10,
                      explanation="roc_auc is 0.9287, at least 0.85 is required"),
            make_gate("accuracy", "max_drop", 0.01, gate_index=1, line=12,
                      explanation="accuracy dropped 0.0017, at most 0.01 is allowed"),
            make_gate("log_loss", "max", 0.4, severity="warning", base=0.3121, head=0.2987,
                      gate_index=2, line=15, explanation="log_loss is 0.2987, at most 0.4"),
        ],
        "lineage": Lineage(
            stages=["prepare", "train", "evaluate"],
            data=[
                DataVersion("data/raw/churn.csv", "3f2a9c0d1b7e4f5a6c8d9e0f1a2b3c4d",
                            size=1_234_567, stage="prepare"),
                DataVersion("data/prepared", "8c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f.dir",
                            size=987_654, nfiles=2, stage="train"),
            ],
            code=[
                DataVersion("src/prepare.py", "0a1b2c3d4e5f60718293a4b5c6d7e8f9", size=2_048,
                            stage="prepare"),
                DataVersion("src/train.py", "f9e8d7c6b5a4938271605f4e3d2c1b0a", size=3_072,
                            stage="train"),
            ],
            model=DataVersion("models/model.pkl", "b1c2d3e4f5a60718293a4b5c6d7e8f90",
                              size=45_678, stage="train"),
            base_model=DataVersion("models/model.pkl", "e5f6a7b8c9d00112233445566778899a",
                                   size=40_960, stage="train"),
        ),
        "card": make_card(),
        "created_at": CREATED_AT,
        "tool_version": __version__,
    }


def make_report(**overrides: Any) -> Report:
    """A passing pull request: roc_auc up, accuracy slightly down within its gate."""
    fields = _default_fields()
    fields.update(overrides)
    if "verdict" not in overrides:
        fields["verdict"] = verdict_for(fields["gates"])
    return Report(**fields)


def make_failing_report(**overrides: Any) -> Report:
    """accuracy drops 0.034 against an allowed 0.01: one error gate fails."""
    metrics = [
        make_metric("accuracy", 0.8812, 0.8472),
        make_metric("roc_auc", 0.9123, 0.9051, primary=True),
        make_metric("f1", 0.7702, 0.7610),
        make_metric("log_loss", 0.3121, 0.4213, higher_is_better=False),
        make_metric("n_test", 1200, 1200),
    ]
    gates = [
        make_gate("roc_auc", "min", 0.85, base=0.9123, head=0.9051, gate_index=0, line=10,
                  explanation="roc_auc is 0.9051, at least 0.85 is required"),
        make_gate("accuracy", "max_drop", 0.01, verdict="fail", head=0.8472, gate_index=1,
                  line=12, explanation="accuracy dropped 0.034, at most 0.01 is allowed"),
        make_gate("log_loss", "max", 0.4, verdict="fail", severity="warning", base=0.3121,
                  head=0.4213, gate_index=2, line=15,
                  explanation="log_loss is 0.4213, at most 0.4"),
    ]
    return make_report(**{"metrics": metrics, "gates": gates, **overrides})


def make_first_run_report(**overrides: Any) -> Report:
    """No base revision (the first run of a repository): every metric and gate is new."""
    metrics = [
        make_metric("accuracy", None, 0.8795),
        make_metric("roc_auc", None, 0.9287, primary=True),
    ]
    gates = [
        make_gate("roc_auc", "min", 0.85, base=None, head=0.9287, gate_index=0,
                  explanation="roc_auc is 0.9287, at least 0.85 is required"),
        make_gate("accuracy", "max_drop", 0.01, verdict="new", base=None, gate_index=1,
                  explanation="accuracy has no base value to compare with"),
    ]
    lineage = _default_fields()["lineage"]
    lineage.base_model = None
    fields: dict[str, Any] = {
        "base": Revision(rev=None, description="no base revision"),
        "metrics": metrics,
        "params": [],
        "gates": gates,
        "lineage": lineage,
    }
    return make_report(**{**fields, **overrides})


HOSTILE_NAMES = ["|x|", "<script>alert(1)</script>", "a_b*c*`d`", "[link](http://x)\nline"]


def make_hostile_report(**overrides: Any) -> Report:
    """Metric, param and gate names that would break a table or inject HTML if not escaped."""
    metrics = [make_metric("roc_auc", 0.9123, 0.9287, primary=True)] + [
        make_metric(name, 0.5, 0.6) for name in HOSTILE_NAMES
    ]
    gates = [
        make_gate(name, "min", 0.1, base=0.5, head=0.6, gate_index=i,
                  explanation=f"{name} | is fine <b>bold</b>")
        for i, name in enumerate(HOSTILE_NAMES)
    ]
    params = [ParamDiff("|p|", "params.yaml", "<i>", "a|b", "modified")]
    card = make_card(description="Ends the fold early: </details> <script>alert(2)</script>")
    fields: dict[str, Any] = {
        "title": "Report <img src=x onerror=alert(3)> | title",
        "metrics": metrics, "gates": gates, "params": params, "card": card,
    }
    return make_report(**{**fields, **overrides})
