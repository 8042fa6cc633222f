"""Read dvc.yaml, the pipeline a pull request declares, as untrusted data.

The text goes through the same bounded reader as mlops.yaml (``config_yaml``: size, depth,
alias bombs, numbers no float holds), then only the shape mlops-ci uses is taken out of it:
each stage's ``cmd``, ``deps``, ``outs``, ``metrics`` and ``plots`` (their paths), the top-level
``metrics`` and ``plots``, and DVC 3's ``artifacts:`` (``path``, ``type``, ``desc``,
``labels``, ``meta``). Anything else is ignored, as DVC's own keys we do not use are; a value
of the wrong shape is a ConfigError naming the line, the key and the fix. DVC itself checks
the rest when it runs the pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from mlops_ci.config_yaml import KeyPath, Positions, at, parse_document
from mlops_ci.errors import ConfigError
from mlops_ci.schemas import format_path
from mlops_ci.security import read_regular_file, resolve_inside

DVC_YAML = "dvc.yaml"
MAX_DVC_YAML_BYTES = 256 * 1024  # config_yaml's bound: a pipeline is a few kilobytes
MAX_DESC = 10_000  # the Report's limit on a card text
MAX_LABEL = 500
MAX_LABELS = 100
MAX_PATH = 1000

# DVC checks artifact names with GTO's expression (dvc/repo/artifacts.py, gto/constants.py)
ARTIFACT_NAME = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9-/_]*[a-zA-Z0-9])?")
ARTIFACT_NAME_FORM = (
    "letters, digits, '-', '_' and '/', starting and ending with a letter or digit"
)
_TEMPLATE = re.compile(r"\$\{[^}]*\}")


@dataclass(frozen=True)
class DvcStage:
    """One stage of dvc.yaml; a ``foreach``/``matrix`` stage keeps its templated paths."""

    name: str
    cmd: tuple[str, ...] = ()
    deps: tuple[str, ...] = ()
    outs: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ()
    plots: tuple[str, ...] = ()
    templated: bool = False  # `foreach:` or `matrix:`: DVC expands it into several stages

    @property
    def produced(self) -> tuple[str, ...]:
        """Every path the stage writes: its outs, metrics and plots."""
        return (*self.outs, *self.metrics, *self.plots)


@dataclass(frozen=True)
class DvcArtifact:
    """One entry of dvc.yaml's ``artifacts:`` (DVC 3)."""

    name: str
    path: str
    type: str | None = None
    desc: str | None = None
    labels: tuple[str, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DvcYaml:
    stages: tuple[DvcStage, ...] = ()
    artifacts: tuple[DvcArtifact, ...] = ()
    metrics: tuple[str, ...] = ()  # the top-level `metrics:` list
    plots: tuple[str, ...] = ()  # the top-level `plots:` entries: a file, or a plot id

    def outputs(self) -> tuple[str, ...]:
        """Every path a stage produces, in the order dvc.yaml lists them."""
        return tuple(dict.fromkeys(path for stage in self.stages for path in stage.produced))

    def models(self) -> tuple[DvcArtifact, ...]:
        return tuple(a for a in self.artifacts if a.type == "model")

    def artifact(self, name: str) -> DvcArtifact | None:
        return next((a for a in self.artifacts if a.name == name), None)


def read_dvc_yaml(root: Path) -> DvcYaml | None:
    """The repository's dvc.yaml at *root*, checked; None when there is none."""
    path = resolve_inside(root, DVC_YAML, what=DVC_YAML, error=ConfigError)
    try:  # a FIFO or a device is refused by its type, before anything is read
        data = read_regular_file(
            path, what="DVC's file", limit=MAX_DVC_YAML_BYTES, error=ConfigError
        )
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"{path} cannot be read ({exc.strerror}).") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{DVC_YAML}: the file is not UTF-8 text (byte {exc.start}); save it as UTF-8."
        ) from None
    return parse_dvc_yaml(text)


def parse_dvc_yaml(text: str) -> DvcYaml:
    """dvc.yaml's *text* → the stages, outputs and artifacts mlops-ci reads (pure)."""
    document, positions = parse_document(text.removeprefix("\ufeff"), DVC_YAML)
    if document is None:
        return DvcYaml()
    reader = _Reader(positions)
    data = reader.mapping(document, (), "the top level")
    stages = reader.mapping(data.get("stages"), ("stages",), "a mapping of stage names")
    artifacts = reader.mapping(data.get("artifacts"), ("artifacts",), "a mapping of names")
    return DvcYaml(
        stages=tuple(reader.stage(str(name), body) for name, body in stages.items()),
        artifacts=tuple(reader.artifact(str(name), body) for name, body in artifacts.items()),
        metrics=reader.paths(data.get("metrics"), ("metrics",)),
        plots=reader.plots(data.get("plots"), ("plots",)),
    )


class _Reader:
    def __init__(self, positions: Positions):
        self.positions = positions

    def fail(self, key: KeyPath, problem: str, fix: str) -> ConfigError:
        where = at(DVC_YAML, self.positions, key)
        return ConfigError(f"{where}: {format_path(key) or 'the file'} {problem}; {fix}.")

    def mapping(self, value: object, key: KeyPath, what: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.fail(key, f"is not {what}", "see DVC's dvc.yaml reference")
        return value

    def stage(self, name: str, body: object) -> DvcStage:
        key: KeyPath = ("stages", name)
        data = self.mapping(body, key, "a mapping with `cmd:`")
        templated = "foreach" in data or "matrix" in data
        if "foreach" in data:  # the stage's keys are under `do:`
            key = (*key, "do")
            data = self.mapping(data.get("do"), key, "a mapping with `cmd:`")
        cmd = data.get("cmd")
        cmds = (cmd,) if isinstance(cmd, str) else tuple(c for c in cmd or () if isinstance(c, str))
        return DvcStage(
            name=name,
            cmd=cmds,
            deps=self.paths(data.get("deps"), (*key, "deps")),
            outs=self.paths(data.get("outs"), (*key, "outs")),
            metrics=self.paths(data.get("metrics"), (*key, "metrics")),
            plots=self.paths(data.get("plots"), (*key, "plots")),
            templated=templated,
        )

    def paths(self, value: object, key: KeyPath) -> tuple[str, ...]:
        """A list of paths, each a string or a one-key mapping ``{path: {cache: false}}``."""
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(key, "is not a list", "write it as a list of paths")
        found: list[str] = []
        for index, item in enumerate(value):
            if isinstance(item, dict) and len(item) == 1:
                item = next(iter(item))
            if not isinstance(item, str) or not item or len(item) > MAX_PATH:
                raise self.fail(
                    (*key, index), "is not a path",
                    f"write a path of 1 to {MAX_PATH} characters, or `PATH: {{cache: false}}`",
                )
            found.append(item)
        return tuple(found)

    def plots(self, value: object, key: KeyPath) -> tuple[str, ...]:
        """Top-level plots: a path, or an id mapping to its options (kept when it is a file)."""
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.fail(key, "is not a list", "write it as a list of plots")
        names = [next(iter(i)) if isinstance(i, dict) and len(i) == 1 else i for i in value]
        return tuple(n for n in names if isinstance(n, str) and n and len(n) <= MAX_PATH)

    def artifact(self, name: str, body: object) -> DvcArtifact:
        key: KeyPath = ("artifacts", name)
        if ARTIFACT_NAME.fullmatch(name) is None or len(name) > MAX_LABEL:
            raise ConfigError(
                f"{at(DVC_YAML, self.positions, key)}: artifact name {name[:100]!r} is not "
                f"one DVC accepts: use {ARTIFACT_NAME_FORM}."
            )
        data = self.mapping(body, key, "a mapping with `path:`")
        path = data.get("path")
        if not isinstance(path, str) or not path or len(path) > MAX_PATH:
            raise self.fail(
                (*key, "path") if "path" in data else key,
                "has no path" if path is None else "is not a path",
                "give the artifact's file as `path: models/model.pkl`",
            )
        pure = PurePosixPath(path)
        if pure.is_absolute() or ".." in pure.parts or Path(path).is_absolute():
            raise self.fail(
                (*key, "path"), f"is {path[:100]!r}",
                "write a path relative to the repository root, inside it",
            )
        return DvcArtifact(
            name=name,
            path=path.removeprefix("./"),
            type=self.text(data.get("type"), (*key, "type"), MAX_LABEL),
            desc=self.text(data.get("desc"), (*key, "desc"), MAX_DESC),
            labels=self.labels(data.get("labels"), (*key, "labels")),
            meta=self.mapping(data.get("meta"), (*key, "meta"), "a mapping"),
        )

    def text(self, value: object, key: KeyPath, limit: int) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > limit:
            raise self.fail(key, f"is not text of at most {limit} characters", "quote it")
        return value

    def labels(self, value: object, key: KeyPath) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list) or len(value) > MAX_LABELS:
            raise self.fail(key, f"is not a list of at most {MAX_LABELS} labels",
                            "write `labels: [churn, tabular]`")
        return tuple(
            label for index, item in enumerate(value)
            if (label := self.text(item, (*key, index), MAX_LABEL))
        )


def path_pattern(path: str) -> re.Pattern[str]:
    """A templated path (``models/${item}.pkl``) as the expression its expansions match."""
    parts = _TEMPLATE.split(path)
    return re.compile(".+".join(re.escape(part) for part in parts))


def is_produced(path: str, outputs: tuple[str, ...]) -> bool:
    """True when *path* is one of *outputs* or inside one (a file in an output directory)."""
    target = PurePosixPath(path.removeprefix("./"))
    for out in outputs:
        if "${" in out:
            if path_pattern(out.removeprefix("./").rstrip("/")).fullmatch(str(target)):
                return True
            continue
        produced = PurePosixPath(out.removeprefix("./"))
        if target == produced or produced in target.parents:
            return True
    return False
