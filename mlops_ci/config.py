"""Load and validate mlops.yaml.

Two stages: the file as written (read into plain data by ``config_yaml``, which refuses alias
bombs and numbers no float holds) is checked against ``schema/mlops.schema.json`` (unknown keys
get a "did you mean" hint), then turned into the resolved objects below. Every error names the
file, the line, the key and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from mlops_ci.config_evaluation import (
    EvaluationConfig,
    GateEvidence,
    evaluation_config,
    gate_evidence,
)
from mlops_ci.config_release import ReleaseConfig, release_config
from mlops_ci.config_schema import validate_config
from mlops_ci.config_train import TrainConfig, train_config
from mlops_ci.config_yaml import KeyPath, Positions, line_at, parse_document
from mlops_ci.config_yaml import at as _at
from mlops_ci.errors import ConfigError, Location
from mlops_ci.model_source import Declared, ModelSource, resolve_model, with_artifact
from mlops_ci.report import CardInfo
from mlops_ci.repro_options import ReproOptions
from mlops_ci.schemas import (
    format_path,
)
from mlops_ci.security import read_regular_file, resolve_inside, special_file_problem

if TYPE_CHECKING:
    pass

CONFIG_FILENAME = "mlops.yaml"

RuleName = Literal["min", "max", "max_drop", "max_increase"]


@dataclass(frozen=True)
class GateRule:
    """One threshold of a gate: ``min: 0.95`` or ``max_drop: 2%``."""

    rule: RuleName
    value: float  # the number; for a percentage, the percent (2.0 for "2%")
    text: str  # as written, for messages: "0.95", "2%"
    relative: bool  # a percentage of the base value


@dataclass(frozen=True)
class GateConfig:
    metric: str
    rules: tuple[GateRule, ...]
    severity: Literal["error", "warning"]
    index: int  # position in the `gates` list
    line: int | None  # 1-based line of the gate's first key in mlops.yaml
    evidence: GateEvidence = field(default_factory=GateEvidence)  # `test`, `alpha`, `slice`


@dataclass(frozen=True)
class ModelConfig:
    name: str
    path: str  # the model file, relative to the repo root (a DVC out)
    task: str = "binary-classification"
    library: str = "sklearn"


@dataclass(frozen=True)
class MetricsConfig:
    files: tuple[str, ...] = ()  # empty: every metrics file dvc.yaml declares
    primary: str | None = None
    higher_is_better: dict[str, bool] = field(default_factory=dict)  # default True
    primary_line: int | None = None  # 1-based line of `primary:` in mlops.yaml, for messages

    def is_higher_better(self, name: str) -> bool:
        return self.higher_is_better.get(name, True)


@dataclass(frozen=True)
class ReportConfig:
    title: str = "Model report"
    digits: int = 4
    template_dir: str | None = None  # user templates; they win over the packaged ones


@dataclass(frozen=True)
class CommentConfig:
    mode: Literal["update", "new", "off"] = "update"
    key: str = "default"  # one sticky comment per PR and per key


@dataclass(frozen=True)
class PipelineConfig:
    timeout: float | None = None  # seconds `dvc repro` may run; None: no limit set here
    repro: ReproOptions = field(default_factory=ReproOptions)  # targets, pull, flags


@dataclass(frozen=True)
class BaseConfig:
    # what the relative gates on a metric the base should have but cannot be read give
    missing: Literal["fail", "warn"] = "fail"


_DURATION = re.compile(r"(?=[0-9])(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?")


def parse_duration(text: str, *, what: str) -> float:
    """Seconds in a duration written with units: ``90s``, ``30m``, ``2h``, ``1h30m``.

    A unit is required: a bare ``30`` could mean seconds or minutes. *what* names the setting
    in the ConfigError ("pipeline.timeout", "--timeout").
    """
    match = _DURATION.fullmatch(text.strip())
    seconds = 0
    if match:
        hours, minutes, secs = (int(part or 0) for part in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    if not match or seconds <= 0:
        raise ConfigError(
            f"{what} is {text!r}, not a duration; write a positive number with a unit: "
            "90s, 30m, 2h or 1h30m."
        )
    return float(seconds)


def _repro_options(section: Mapping[str, Any]) -> ReproOptions:
    """`pipeline.targets`, `.pull` and `.flags`, as the schema has checked them."""
    return ReproOptions(
        targets=tuple(section.get("targets") or ()),
        pull=bool(section.get("pull", False)),
        flags=tuple(dict.fromkeys(section.get("flags") or ())),
    )


def _pipeline(section: Mapping[str, Any], positions: Positions, name: str) -> PipelineConfig:
    timeout = section.get("timeout")
    repro = _repro_options(section)
    if timeout is None:
        return PipelineConfig(repro=repro)
    where = _at(name, positions, ("pipeline", "timeout"))
    if not isinstance(timeout, str):  # the schema lets a number through for this message
        raise ConfigError(
            f"{where}: pipeline.timeout is {timeout!r}, a number without a unit; write it "
            "with one: 90s, 30m, 2h or 1h30m."
        )
    return PipelineConfig(
        timeout=parse_duration(timeout, what=f"{where}: pipeline.timeout"), repro=repro
    )


@dataclass(frozen=True)
class Config:
    path: Path
    model: ModelConfig
    metrics: MetricsConfig
    gates: tuple[GateConfig, ...]
    card: CardInfo
    report: ReportConfig
    comment: CommentConfig
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    base: BaseConfig = field(default_factory=BaseConfig)
    release: ReleaseConfig = field(default_factory=ReleaseConfig)
    train: TrainConfig = field(default_factory=TrainConfig)  # what `mlops-ci train` may build
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)  # predictions, slices
    found: bool = True  # False: the repository has no mlops.yaml, and these are the defaults

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def user_template_dir(self) -> Path | None:
        """The real path of `report.template_dir`, inside the repository; None when unset."""
        configured = self.report.template_dir
        if not configured:
            return None
        # The real path: a symlink out of the repository is refused, not followed.
        return resolve_inside(self.root, configured, what="report.template_dir", error=ConfigError)


_PERCENT = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*%\s*$")
_RULES: tuple[RuleName, ...] = ("min", "max", "max_drop", "max_increase")

def load_config(path: Path, *, pipeline: bool = True) -> Config:
    """Read, validate and resolve *path*; raise ConfigError naming file, line, key and fix.

    *path* is the mlops.yaml file, or the directory that holds it. In a DVC repository without
    one, the defaults (no gates). With *pipeline*, the model not named here is the one dvc.yaml's
    `artifacts:` declare, and `model.path` is checked against the pipeline's outputs.
    """
    if path.is_dir() and path.name != CONFIG_FILENAME:  # a directory named mlops.yaml is refused
        path = path / CONFIG_FILENAME
    found = path.exists() or path.is_symlink() or not (path.parent / ".dvc").is_dir()
    document: object = {}
    positions: Positions = {}
    try:
        if found:
            document, positions = parse_document(_read(path), path.name)
            document = {} if document is None else document  # the model may come from dvc.yaml
            validate_config(document, positions, path.name)
        config = _resolve(document, positions, path, found=found, pipeline=pipeline)
        _ = config.user_template_dir  # refuses a template_dir that leaves the repository
    except ConfigError as exc:  # for the annotation on Actions: the key, or the line named
        named = re.match(rf"{re.escape(path.name)}, line ([0-9]+)\b", str(exc))
        known = exc.location or Location(path, int(named[1]) if named else None)
        exc.location = Location(path, known.line, known.key)
        raise
    return config


# --- stage 0: the text -----------------------------------------------------------------------


def _read(path: Path) -> str:
    # A FIFO would block the open until a writer comes, a device would be read forever: both,
    # and a directory, are refused by their type before anything is opened.
    problem = special_file_problem(path)
    if problem:
        raise ConfigError(
            f"{path} {problem}, not a configuration file; replace it with your {path.name}."
        )
    try:
        data = read_regular_file(path, what="The configuration", error=ConfigError)
        return data.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"No {path.name} in {path.parent.resolve()}. Run `mlops-ci init` to scaffold a "
            "project, or write one (see docs/configuration.md)."
        ) from None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path.name}, line {line}: the file is not UTF-8 text (byte {exc.start}); "
            "save it with UTF-8 encoding."
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration ({exc.strerror}).") from None


# --- stage 2: resolve ------------------------------------------------------------------------


def _resolve(
    document: object, positions: Positions, path: Path, *, found: bool, pipeline: bool
) -> Config:
    data = cast("dict[str, Any]", document)
    name = path.name

    def section(key: str) -> dict[str, Any]:
        return dict(data.get(key) or {})  # a key left empty (`card:`) means its defaults

    model = section("model")
    if "path" in model:
        _check_relative(model["path"], ("model", "path"), positions, name)
    source = _model_source(model, positions, path, found=found, pipeline=pipeline)
    metrics = section("metrics")
    files = _as_tuple(metrics.get("files"))
    for index, file in enumerate(files):
        one = isinstance(metrics["files"], str)
        _check_relative(file, ("metrics", "files", *(() if one else (index,))), positions, name)
    report = section("report")
    template_dir = report.get("template_dir")
    if template_dir is not None:
        _check_relative(template_dir, ("report", "template_dir"), positions, name)
        if not (path.parent / template_dir).is_dir():
            raise ConfigError(
                f"{_at(name, positions, ('report', 'template_dir'))}: report.template_dir "
                f"{template_dir!r} is not a directory in the repository. Create it and put your "
                "templates there, or remove the key."
            )
    card = section("card")
    comment = section("comment")
    return Config(
        path=path,
        model=ModelConfig(
            name=source.name,
            path=source.path,
            task=model.get("task", ModelConfig.task),
            library=model.get("library", ModelConfig.library),
        ),
        metrics=MetricsConfig(
            files=files,
            primary=metrics.get("primary"),
            higher_is_better=dict(metrics.get("higher_is_better") or {}),
            primary_line=line_at(positions, ("metrics", "primary")),
        ),
        gates=tuple(
            _gate(gate, index, positions, name)
            for index, gate in enumerate(data.get("gates") or [])
        ),
        card=with_artifact(
            CardInfo(**{key: _card_value(key, value) for key, value in card.items()}),
            source.artifact,
        ),
        report=ReportConfig(
            title=report.get("title", ReportConfig.title),
            digits=int(report.get("digits", ReportConfig.digits)),
            template_dir=template_dir,
        ),
        comment=CommentConfig(
            mode=comment.get("mode", CommentConfig.mode),
            key=comment.get("key", CommentConfig.key),
        ),
        pipeline=_pipeline(section("pipeline"), positions, name),
        base=BaseConfig(missing=section("base").get("missing", BaseConfig.missing)),
        release=release_config(data.get("release"), positions, name),
        train=train_config(section("train"), positions, name),
        evaluation=_evaluation(data, positions, name),
        found=found,
    )


def _model_source(
    model: Mapping[str, Any], positions: Positions, path: Path, *, found: bool, pipeline: bool
) -> ModelSource:
    if not pipeline:  # mlops.yaml alone (the fork-safe commenter's trusted gates)
        return ModelSource(name=model.get("name", ""), path=model.get("path", ""))
    declared = Declared(
        name=model.get("name"),
        path=model.get("path"),
        config_found=found,
        config_file=path.name,
        where=_at(path.name, positions, ("model",)),
        path_where=_at(path.name, positions, ("model", "path")),
    )
    return resolve_model(path.parent, declared)


def _gate(gate: Mapping[str, Any], index: int, positions: Positions, name: str) -> GateConfig:
    rules = tuple(_rule(key, gate[key]) for key in gate if key in _RULES)
    bounds = {rule.rule: rule.value for rule in rules}
    if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
        raise ConfigError(
            f"{_at(name, positions, ('gates', index))}: gates[{index}] has min {gate['min']} "
            f"above max {gate['max']}, so no value can pass; fix one of them."
        )
    return GateConfig(
        metric=gate["metric"],
        rules=rules,
        severity=gate.get("severity", "error"),
        index=index,
        line=line_at(positions, ("gates", index)),
        evidence=gate_evidence(gate, index, positions, name),
    )


def _evaluation(data: Mapping[str, Any], positions: Positions, name: str) -> EvaluationConfig:
    section = data.get("evaluation")
    if section and "predictions" in section:
        _check_relative(section["predictions"], ("evaluation", "predictions"), positions, name)
    return evaluation_config(section, "evaluation" in data)


def _rule(rule: RuleName, value: float | str) -> GateRule:
    """The schema has checked the shape: a number, or (for drops and increases) "N%"."""
    if isinstance(value, str):
        match = _PERCENT.match(value)
        assert match is not None  # guaranteed by the schema's pattern
        return GateRule(rule=rule, value=float(match.group(1)), text=value.strip(), relative=True)
    return GateRule(rule=rule, value=float(value), text=repr(value), relative=False)


def _check_relative(value: str, key: KeyPath, positions: Positions, name: str) -> None:
    """Paths stay inside the repository: they are read and published from there."""
    parts = Path(value).parts
    if Path(value).is_absolute() or ".." in parts:
        raise ConfigError(
            f"{_at(name, positions, key)}: {format_path(key)} must be a path relative to the "
            f"repository root, not {value!r}."
        )


def _as_tuple(value: str | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _card_value(key: str, value: Any) -> Any:
    # The list fields accept one string for convenience (`language: en`), as HF cards do.
    return list(_as_tuple(value)) if key in ("owners", "tags", "datasets", "language") else value
