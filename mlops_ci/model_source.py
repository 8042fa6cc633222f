"""Which model a report is about: mlops.yaml's `model`, else what dvc.yaml's `artifacts:` say.

DVC 3 describes a model in dvc.yaml (``artifacts: {churn: {path: models/churn.pkl, type:
model}}``). With exactly one ``type: model`` artifact, mlops.yaml needs neither ``model.name``
nor ``model.path``. A ``model.path`` written in mlops.yaml must be something the pipeline
produces (an output of a stage in dvc.yaml or dvc.lock) or an artifact's path: anything else
is a typo that would otherwise list the real model as training data.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from mlops_ci.dvc_yaml import DvcArtifact, DvcYaml, is_produced, read_dvc_yaml
from mlops_ci.errors import ConfigError, MlopsError
from mlops_ci.lockfile import LOCK_FILE, MAX_LOCK_BYTES, decode_lock, parse_lock
from mlops_ci.report import CardInfo
from mlops_ci.security import read_regular_file, resolve_inside

SHOWN = 20  # outputs or artifacts listed in a message


@dataclass(frozen=True)
class ModelSource:
    name: str
    path: str  # "" when neither mlops.yaml nor dvc.yaml names a model file
    artifact: DvcArtifact | None = None  # the dvc.yaml artifact that describes the model


@dataclass(frozen=True)
class Declared:
    """What mlops.yaml says about the model, and where, for messages."""

    name: str | None
    path: str | None
    config_found: bool  # False: the repository has no mlops.yaml (defaults)
    config_file: str = "mlops.yaml"
    where: str = "mlops.yaml"  # "mlops.yaml, line 3": where `model` stands
    path_where: str = "mlops.yaml"  # where `model.path` stands


def resolve_model(root: Path, declared: Declared) -> ModelSource:
    """The model's name, path and artifact; a ConfigError when they cannot be told apart."""
    pipeline = read_dvc_yaml(root) or DvcYaml()
    artifact = _artifact(pipeline, declared)
    name = declared.name or (artifact.name if artifact else None)
    path = declared.path or (artifact.path if artifact else None)
    if name is None and not declared.config_found:
        name = root.resolve().name or "model"  # no mlops.yaml, no model artifact: defaults
    if name is None or (path is None and declared.config_found):
        missing = "model.name" if name is None else "model.path"
        raise ConfigError(
            f"{declared.where}: {missing} is required: name the model in "
            f"{declared.config_file} (`model: {{name: churn, path: models/model.pkl}}`), or "
            "declare it in dvc.yaml as an artifact of `type: model` "
            "(`artifacts: {churn: {path: models/model.pkl, type: model}}`)."
        )
    if declared.path is not None:
        _check_produced(root, declared, pipeline)
    return ModelSource(name=name, path=path or "", artifact=artifact)


def with_artifact(card: CardInfo, artifact: DvcArtifact | None) -> CardInfo:
    """The card, its description and tags taken from the artifact where mlops.yaml has none."""
    if artifact is None:
        return card
    description = card.description if card.description.strip() else (artifact.desc or "")
    tags = card.tags or list(artifact.labels)
    return replace(card, description=description, tags=tags)


def _artifact(pipeline: DvcYaml, declared: Declared) -> DvcArtifact | None:
    if declared.name is not None:
        found = pipeline.artifact(declared.name)
        if found is not None or declared.path is not None:
            return found
        # a name without a path: the one model artifact, if dvc.yaml has exactly one
    models = pipeline.models()
    if len(models) <= 1:
        return models[0] if models else None
    if declared.name is None:
        names = ", ".join(repr(a.name) for a in models[:SHOWN])
        more = f" and {len(models) - SHOWN} more" if len(models) > SHOWN else ""
        raise ConfigError(
            f"dvc.yaml declares {len(models)} artifacts of `type: model` ({names}{more}), so "
            f"{declared.config_file} must say which one the report is about: add "
            f"`model: {{name: {models[0].name}}}` to {declared.config_file}."
        )
    return None


def _check_produced(root: Path, declared: Declared, pipeline: DvcYaml) -> None:
    path = declared.path
    assert path is not None
    outputs = (*pipeline.outputs(), *_locked_outputs(root))
    artifacts = tuple(a.path for a in pipeline.artifacts)
    if is_produced(path, outputs) or is_produced(path, artifacts) or _tracked(root, path):
        return
    if not pipeline.stages and not outputs:
        return  # no pipeline in this repository's root to check against
    if _other_pipelines(root):
        return  # a dvc.yaml in a subdirectory may produce it: nothing here proves it wrong
    listed = list(dict.fromkeys((*outputs, *artifacts)))
    known = ", ".join(listed[:SHOWN]) + (f" and {len(listed) - SHOWN} more" if len(listed) > SHOWN
                                        else "")
    raise ConfigError(
        f"{declared.path_where}: model.path is {path[:200]!r}, which no stage in dvc.yaml "
        f"produces and no artifact names. Outputs that exist: {known or 'none'}. Set model.path "
        "to the output your training stage writes."
    )


def _other_pipelines(root: Path) -> bool:
    """Whether a dvc.yaml below the root, tracked or not yet, declares stages of its own."""
    from mlops_ci.proc import git

    found = git("ls-files", "-co", "--exclude-standard", "--", ":(glob)*/**/dvc.yaml",
                cwd=root, check=False)
    return bool(found.strip())


def _tracked(root: Path, path: str) -> bool:
    """A model added with `dvc add` (PATH.dvc beside it) is DVC's too."""
    return (root / f"{path}.dvc").is_file()


def _locked_outputs(root: Path) -> tuple[str, ...]:
    """The outs dvc.lock records (templated stages expanded); () when it cannot be read.

    A bad dvc.lock is reported where the lineage reads it, with its own message.
    """
    try:
        path = resolve_inside(root, LOCK_FILE, what=LOCK_FILE)
        lock = parse_lock(decode_lock(read_regular_file(path, what=LOCK_FILE,
                                                        limit=MAX_LOCK_BYTES)))
    except (MlopsError, OSError):
        return ()
    return tuple(out.path for stage in lock.stages for out in stage.outs)
