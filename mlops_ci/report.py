"""The Report: the one document that computing produces and every publisher reads.

A Report is plain JSON with a ``schema_version``. Publishers (terminal, files, PR comment, job
summary, release notes) read it and never recompute it. ``schema/report.schema.json`` describes
it; :func:`load_report` validates against that schema before anything trusts the content.

Everything here is a pure data structure plus its JSON round-trip. Rendering lives in
``render.py``; computing lives in ``compare.py`` and ``gates.py``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

SCHEMA_VERSION = "1.2"

# "unknown": the base declares the metric's file but its value could not be read (base_note)
MetricChange = Literal["better", "worse", "unchanged", "new", "removed", "changed", "unknown"]
ParamChangeKind = Literal["added", "removed", "modified"]
GateVerdict = Literal["pass", "fail", "new"]
Severity = Literal["error", "warning"]
OverallVerdict = Literal["pass", "fail"]
Significance = Literal["significant", "within noise"]
HistoryKind = Literal["release", "base", "head"]
PlotKind = Literal["series", "confusion", "image"]


@dataclass
class Revision:
    """A git revision the metrics were read at."""

    rev: str | None  # full SHA; None for the base when there is no base (first run)
    ref: str | None = None  # branch, tag or "workspace"
    description: str = ""  # how the revision was chosen, e.g. "merge-base with main"
    dirty: bool = False  # the workspace had uncommitted results


@dataclass
class MetricDiff:
    """One metric, base → head. Values are numbers, or strings/bools when the file holds them."""

    name: str  # flattened, dot-separated path inside its file, e.g. "roc_auc" or "test.f1"
    file: str  # the metrics file it was read from, relative to the repo root
    base: Any
    head: Any
    delta: float | None  # head - base, numbers only
    delta_pct: float | None  # 100 * delta / |base|; None when base is 0 or not numeric
    higher_is_better: bool
    change: MetricChange
    primary: bool = False
    # why the base value is missing or not a number though the base has the metric; else None
    base_note: str | None = None
    # a new metric only: why the next change will have no base value for it either; else None
    next_base_note: str | None = None
    # [low, high] at Report.evaluation.confidence, from the predictions files (evaluation.md)
    head_interval: list[float] | None = None
    base_interval: list[float] | None = None


@dataclass
class ParamDiff:
    """A param that differs between base and head."""

    name: str
    file: str
    base: Any
    head: Any
    change: ParamChangeKind


@dataclass
class GateResult:
    """One rule of one gate, evaluated.

    A gate in mlops.yaml may hold several rules (``min`` and ``max_drop``, say); each is one
    result, so that each failure is reported and annotated on its own.
    """

    metric: str
    rule: Literal["min", "max", "max_drop", "max_increase"]
    threshold: float  # as written: the floor, the ceiling, or the allowed drop/increase
    threshold_text: str  # as written in mlops.yaml, e.g. "2%" or "0.01"
    relative: bool  # the threshold is a percentage of the base
    severity: Severity
    verdict: GateVerdict
    base: Any
    head: Any
    limit: float | None  # the value head was compared with (for max_drop: base - allowed drop)
    explanation: str
    gate_index: int  # position of the gate in mlops.yaml's `gates` list
    line: int | None = None  # 1-based line of the gate in mlops.yaml, for annotations
    # gates that require evidence (`test:`) or judge one slice (`slice:`); docs/configuration.md
    test: Literal["paired_bootstrap", "mcnemar", "delong"] | None = None
    alpha: float | None = None
    slice: dict[str, Any] | None = None  # {"sex": "female"}: the metric on that slice's rows
    p_value: float | None = None
    difference: list[float] | None = None  # [low, high] of head - base at 1 - alpha
    significance: Significance | None = None
    evidence_note: str | None = None  # why the test could not be run, when it could not


@dataclass
class DataVersion:
    """A file or directory recorded in dvc.lock, with the hash DVC recorded for it."""

    path: str
    md5: str | None
    size: int | None = None
    nfiles: int | None = None
    stage: str | None = None


@dataclass
class Lineage:
    """What produced and evaluated the model, from dvc.lock at head (and its hash at base)."""

    stages: list[str] = field(default_factory=list)
    data: list[DataVersion] = field(default_factory=list)  # deps that are not code
    code: list[DataVersion] = field(default_factory=list)  # deps that are source files
    model: DataVersion | None = None
    base_model: DataVersion | None = None
    base_lock_error: str | None = None  # why dvc.lock at base could not be read, if it could not
    # by the DAG of dvc.lock (lineage.py): `data` is what the model stage depends on, transitively
    evaluation_data: list[DataVersion] = field(default_factory=list)  # read downstream of it
    evaluation_outputs: list[DataVersion] = field(default_factory=list)  # written downstream
    model_stage: str | None = None  # the stage that writes the model; None when none does


@dataclass
class ModelInfo:
    name: str
    path: str
    task: str
    library: str = "sklearn"


@dataclass
class CardInfo:
    """The human-written parts of the model card, copied from mlops.yaml's `card`."""

    description: str = ""
    intended_use: str = ""
    out_of_scope_use: str = ""
    factors: str = ""
    training_data: str = ""
    evaluation_data: str = ""
    limitations: str = ""
    ethical_considerations: str = ""
    caveats: str = ""
    owners: list[str] = field(default_factory=list)
    license: str = "other"
    tags: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    language: list[str] = field(default_factory=list)


@dataclass
class RegistryState:
    """The model in the registry (GTO's git tags) at one revision's commit."""

    version: str | None = None  # the highest version registered on the commit, if any
    stages: list[str] = field(default_factory=list)  # stages whose current version is on it


@dataclass
class RegistryInfo:
    """What the registry's tags say about the model at head and at base (docs/registry.md)."""

    artifact: str  # the name in the tags; "" for bare vX.Y.Z tags (a single-model repository)
    latest: str | None = None  # the highest registered version, at whatever commit
    deprecated: bool = False
    head: RegistryState = field(default_factory=RegistryState)
    base: RegistryState | None = None  # None when there is no base


@dataclass
class Verdict:
    status: OverallVerdict
    failed: int  # error-severity rules that failed
    warnings: int  # warning-severity rules that failed
    summary: str  # one sentence, e.g. "1 gate failed: accuracy dropped 0.034 (max 0.01)"


@dataclass
class PlotSeries:
    """One line of a data plot at one revision: a y field against x (docs/plots.md)."""

    name: str  # the y field, with its file when the plot draws several files
    x: list[float]
    y: list[float]
    points: int  # points the file holds; more than x/y hold when resampled
    resampled: bool = False  # x, y are the file's points interpolated onto fewer


@dataclass
class ConfusionMatrix:
    """counts[i][j]: rows whose actual class is labels[i] and predicted class labels[j]."""

    labels: list[str]
    counts: list[list[int]]
    omitted: int = 0  # classes left out (beyond the bound), their rows not counted


@dataclass
class PlotDiff:
    """One plot that dvc.yaml declares, base and head, bounded (plots.py)."""

    id: str  # as DVC names it: the file, or the name under top-level `plots:`
    kind: PlotKind
    title: str
    template: str | None = None  # DVC's template: linear, simple, confusion, ...
    x_label: str = ""
    y_label: str = ""
    base: list[PlotSeries] = field(default_factory=list)  # series plots
    head: list[PlotSeries] = field(default_factory=list)
    base_matrix: ConfusionMatrix | None = None  # confusion plots
    head_matrix: ConfusionMatrix | None = None
    path: str | None = None  # image plots: the file, relative to the repository root
    base_md5: str | None = None
    head_md5: str | None = None
    note: str | None = None  # what could not be read or shown, and why

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlotDiff:
        def matrix(value: Any) -> ConfusionMatrix | None:
            return ConfusionMatrix(**value) if value else None

        return cls(**{
            **data,
            "base": [PlotSeries(**s) for s in data.get("base", [])],
            "head": [PlotSeries(**s) for s in data.get("head", [])],
            "base_matrix": matrix(data.get("base_matrix")),
            "head_matrix": matrix(data.get("head_matrix")),
        })


@dataclass
class EvaluationInfo:
    """What the per-row predictions files said: the rows both revisions were scored on."""

    predictions: str  # the predictions file, relative to the repository root
    task: str  # binary, multiclass or regression
    rows: int  # head's rows
    base_rows: int | None  # None: base predictions could not be read (note says why)
    confidence: float  # the level of every interval in the report
    replicates: int
    seed: int
    note: str | None = None  # why the base's predictions were not compared, when they were not
    # {"labels": [...], "head": [[...]], "base": [[...]] | None}: the confusion matrices
    confusion: dict[str, Any] | None = None


@dataclass
class HistoryPoint:
    """The primary metric at one release, at the base or at the head (the comment's chart)."""

    label: str  # the version, "base" or "head"
    value: float
    low: float | None = None  # the interval, where known
    high: float | None = None
    kind: HistoryKind = "release"


@dataclass
class Report:
    """The whole result of one run. See docs/report.md for the field-by-field description."""

    title: str
    digits: int
    model: ModelInfo
    primary_metric: str | None
    base: Revision
    head: Revision
    metrics: list[MetricDiff]
    params: list[ParamDiff]
    params_head: dict[str, Any]  # every param at head, flattened "file:name" -> value
    gates: list[GateResult]
    lineage: Lineage
    verdict: Verdict
    card: CardInfo
    created_at: str  # ISO 8601, UTC
    tool_version: str
    config_file: str = "mlops.yaml"
    schema_version: str = SCHEMA_VERSION
    registry: RegistryInfo | None = None  # None: no registry tags name the model
    plots: list[PlotDiff] = field(default_factory=list)  # dvc.yaml's plots, base and head
    plots_omitted: int = 0  # declared plots left out beyond plots.MAX_PLOTS
    evaluation: EvaluationInfo | None = None  # None: no predictions file (docs/evaluation.md)
    history: list[HistoryPoint] = field(default_factory=list)  # primary metric by release

    # --- queries publishers share ---

    def failed_gates(self, severity: Severity | None = None) -> list[GateResult]:
        return [
            g for g in self.gates
            if g.verdict == "fail" and (severity is None or g.severity == severity)
        ]

    def primary(self) -> MetricDiff | None:
        return next((m for m in self.metrics if m.primary), None)

    # --- JSON round-trip ---

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        # schema_version first, so a reader sees it before anything else
        return {"schema_version": data.pop("schema_version"), **data}

    def to_json(self) -> str:
        """The report.json text; an InputError if the Report breaks a limit of its schema.

        Checked on every write, so that a report `run` or `gate` writes is always one that
        `gate`, `card` and `comment` accept when they read it back.
        """
        from mlops_ci.schemas import check_report_limits

        data = self.to_dict()
        check_report_limits(data)
        return json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n"

    def check_limits(self) -> None:
        """Raise InputError, naming the metrics file, if this Report could not be written."""
        from mlops_ci.schemas import check_report_limits

        check_report_limits(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        lineage = data["lineage"]
        return cls(
            schema_version=data["schema_version"],
            title=data["title"],
            digits=data["digits"],
            model=ModelInfo(**data["model"]),
            primary_metric=data["primary_metric"],
            base=Revision(**data["base"]),
            head=Revision(**data["head"]),
            metrics=[MetricDiff(**m) for m in data["metrics"]],
            params=[ParamDiff(**p) for p in data["params"]],
            params_head=dict(data["params_head"]),
            gates=[GateResult(**g) for g in data["gates"]],
            lineage=Lineage(
                stages=list(lineage["stages"]),
                data=[DataVersion(**d) for d in lineage["data"]],
                code=[DataVersion(**d) for d in lineage["code"]],
                model=DataVersion(**lineage["model"]) if lineage["model"] else None,
                base_model=DataVersion(**lineage["base_model"]) if lineage["base_model"] else None,
                base_lock_error=lineage.get("base_lock_error"),
                evaluation_data=[DataVersion(**d) for d in lineage.get("evaluation_data", [])],
                evaluation_outputs=[
                    DataVersion(**d) for d in lineage.get("evaluation_outputs", [])
                ],
                model_stage=lineage.get("model_stage"),
            ),
            verdict=Verdict(**data["verdict"]),
            card=CardInfo(**data["card"]),
            created_at=data["created_at"],
            tool_version=data["tool_version"],
            config_file=data.get("config_file", "mlops.yaml"),
            registry=_registry(data.get("registry")),
            plots=[PlotDiff.from_dict(p) for p in data.get("plots", [])],
            plots_omitted=data.get("plots_omitted", 0),
            evaluation=EvaluationInfo(**data["evaluation"]) if data.get("evaluation") else None,
            history=[HistoryPoint(**h) for h in data.get("history", [])],
        )


def _registry(data: dict[str, Any] | None) -> RegistryInfo | None:
    if data is None:
        return None
    base = data.get("base")
    return RegistryInfo(
        artifact=data["artifact"],
        latest=data.get("latest"),
        deprecated=data.get("deprecated", False),
        head=RegistryState(**data["head"]),
        base=RegistryState(**base) if base is not None else None,
    )


def load_report(path: Path) -> Report:
    """Read and validate a report.json; every failure is an InputError naming the file."""
    from mlops_ci.files import read_json
    from mlops_ci.schemas import validate_report

    data = read_json(
        path,
        label=f"The report {path}",
        missing="does not exist. Run `mlops-ci run` first, or pass --report with the path of "
        "a report.json it wrote.",
        fix="Pass the report.json that `mlops-ci run` wrote.",
    )
    validate_report(data, source=str(path))
    return Report.from_dict(data)


def write_report(report: Report, path: Path) -> None:
    from mlops_ci.files import write_text_atomic

    write_text_atomic(path, report.to_json())
