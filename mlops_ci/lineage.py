"""The model's lineage from dvc.lock: what trained it, what evaluated it, and what that wrote.

dvc.lock (read and checked by ``lockfile.py``) records each stage's deps and outs with their
hashes. The stages and the paths between them make a DAG, and the lineage is classified by it:

- the stage whose outs hold the model is the *model stage*; what it depends on, and what the
  stages upstream of it depend on and write, transitively, is **training data**;
- the stages downstream of the model (that read it, or read what such a stage wrote) are the
  evaluation: what they read besides the model and each other's outputs is **evaluation data**,
  and what they write (metrics, plots, reports, predictions) is **evaluation output**;
- source files (by suffix) among any stage's deps are **code**.

A path is matched to the stage that writes it, or to the directory it is inside (a stage that
writes ``data/prepared`` produces ``data/prepared/train.csv``). The lock comes from the pull
request, so it may hold what DVC never writes, cycles included: every walk keeps a visited set,
and the cost stays linear in the number of entries and the depth of their paths.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from pathlib import PurePosixPath

from mlops_ci.lockfile import Lock, LockedFile, LockedStage
from mlops_ci.report import DataVersion, Lineage

CODE_SUFFIXES = {".py", ".r", ".R", ".sh", ".ipynb", ".jl", ".scala", ".java", ".js", ".ts", ".sql"}


def lineage_from_lock(
    lock: Lock | None,
    base_lock: Lock | None,
    *,
    model_path: str,
    metric_files: set[str],
    base_lock_error: str | None = None,
) -> Lineage:
    """Data, code and model versions recorded in dvc.lock at head (and the model's at base).

    Metrics files are left out of the training data (the report shows their values); they are
    listed among the evaluation outputs when an evaluation stage writes them. *base_lock_error*
    says why the base's dvc.lock could not be read: the lineage says so instead of claiming the
    base had no model.
    """
    lineage = Lineage(base_lock_error=base_lock_error)
    lineage.base_model = _find_out(base_lock, model_path)
    if not lock:
        return lineage
    lineage.stages = [stage.name for stage in lock.stages]
    graph = _Graph(lock.stages)
    model = _norm(model_path)
    producers = graph.producers(model)
    model_stages = [s for s in lock.stages if s.name in producers]
    upstream = graph.upstream(producers)
    downstream = graph.downstream(producers, model)
    lineage.model_stage = model_stages[0].name if model_stages else None

    seen: set[str] = set()
    evaluation_seen: set[str] = set()
    for stage in lock.stages:
        for entry in stage.deps:
            path = _norm(entry.path)
            if _is_code(path):
                if path not in seen:
                    seen.add(path)
                    lineage.code.append(_version(entry, stage.name))
                continue
            if path == model:
                if lineage.model is None and not model_stages:  # a tracked model, no stage
                    lineage.model = _version(entry, stage.name)
                continue
            if stage.name in downstream:
                # what the evaluation or the model stage wrote is no input data of its own
                if graph.is_written_by(path, downstream | producers) or path in evaluation_seen:
                    continue
                evaluation_seen.add(path)
                lineage.evaluation_data.append(_version(entry, stage.name))
            elif stage.name in upstream and path not in seen and path not in metric_files:
                seen.add(path)
                lineage.data.append(_version(entry, stage.name))
        for entry in stage.outs:
            path = _norm(entry.path)
            if path == model:
                if lineage.model is None:
                    lineage.model = _version(entry, stage.name)
                continue
            # An upstream stage's output is training data only if a stage on the way to the
            # model reads it (the deps above list it then): a test split is written beside the
            # training split but read only by the evaluation.
            if stage.name in downstream and path not in evaluation_seen:
                evaluation_seen.add(path)
                lineage.evaluation_outputs.append(_version(entry, stage.name))
    return lineage


def _is_code(path: str) -> bool:
    return PurePosixPath(path).suffix in CODE_SUFFIXES


class _Graph:
    """Which stage writes which path, and the stages each stage reads from."""

    def __init__(self, stages: tuple[LockedStage, ...]):
        self.stages = stages
        self.writers: dict[str, set[str]] = {}  # an out's path -> the stages writing it
        self.inside: dict[str, set[str]] = {}  # a directory -> stages writing something in it
        for stage in stages:
            for entry in stage.outs:
                path = _norm(entry.path)
                self.writers.setdefault(path, set()).add(stage.name)
                for parent in _parents(path):
                    self.inside.setdefault(parent, set()).add(stage.name)
        # the stages each stage reads from (its parents in the DAG)
        self.reads_from: dict[str, set[str]] = {}
        for stage in stages:
            parents = self.reads_from.setdefault(stage.name, set())
            for entry in stage.deps:
                parents |= self.producers(_norm(entry.path))
            parents.discard(stage.name)

    def producers(self, path: str) -> set[str]:
        """The stages that write *path*, a directory holding it, or a file inside it."""
        found = set(self.writers.get(path, ()))
        for parent in _parents(path):
            found |= self.writers.get(parent, set())
        return found | self.inside.get(path, set())

    def is_written_by(self, path: str, stages: set[str]) -> bool:
        return bool(self.producers(path) & stages)

    def upstream(self, start: set[str]) -> set[str]:
        """*start* and every stage it reads from, transitively."""
        return _walk(start, lambda name: self.reads_from.get(name, set()))

    def downstream(self, producers: set[str], model: str) -> set[str]:
        """The stages that read the model, or read what such a stage wrote, transitively."""
        readers: dict[str, set[str]] = {}
        for name, parents in self.reads_from.items():
            for parent in parents:
                readers.setdefault(parent, set()).add(name)
        first = {
            stage.name for stage in self.stages
            if any(_norm(e.path) == model or _contains(_norm(e.path), model) for e in stage.deps)
        }
        first -= producers
        found = _walk(first, lambda name: readers.get(name, set()) - producers)
        # a stage upstream of the model is training, whatever a malformed lock says
        return found - self.upstream(producers)


def _walk(start: set[str], step: Callable[[str], set[str]]) -> set[str]:
    seen = set(start)
    todo = list(start)
    while todo:
        for nxt in step(todo.pop()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _norm(path: str) -> str:
    """A lock path as one spelling: ``./data/`` and ``data`` are the same directory."""
    text = posixpath.normpath(path.replace("\\", "/"))
    return "" if text == "." else text


def _parents(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def _contains(directory: str, path: str) -> bool:
    return path.startswith(directory + "/")


def _version(entry: LockedFile, stage: str) -> DataVersion:
    return DataVersion(
        path=entry.path, md5=entry.md5, size=entry.size, nfiles=entry.nfiles, stage=stage
    )


def _find_out(lock: Lock | None, path: str) -> DataVersion | None:
    target = _norm(path)
    for stage in lock.stages if lock else ():
        for entry in stage.outs:
            if _norm(entry.path) == target:
                return _version(entry, stage.name)
    return None
