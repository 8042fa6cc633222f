"""The primary metric across the model's last releases, the base and the head (I/O).

``Report.history`` is what the comment's chart draws: the primary metric at the last
``release.history`` registered versions of the model (GTO's ``NAME@vX.Y.Z`` tags and the
repository's bare ``vX.Y.Z`` tags, withdrawn versions and a deprecated model left out; read
offline from the local tags), oldest first, then the base's value and the head's, with their
intervals where the report has them. The value at a release is read at its commit as `run`
reads a base's (``pipeline.read_base_snapshot``); a release whose value cannot be read is left
out. The release notes read their releases' values here too (:func:`release_points`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path

from mlops_ci.config import Config
from mlops_ci.registry import Version, read_registry, tagged_versions
from mlops_ci.registry_tags import version_key
from mlops_ci.report import HistoryPoint, MetricDiff, Report


def is_finite_number(value: object) -> bool:
    """A finite int or float: NaN and ±inf (JSON's 1e999) cannot be charted."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


def release_points(
    root: Path, config: Config, metric: MetricDiff, versions: Sequence[Version],
    *, known: dict[str, float] | None = None,
) -> tuple[list[HistoryPoint], list[str]]:
    """*metric* at each of *versions* (in the order given): (points, versions not readable).

    *known*: values already read, by commit (the base's), not read again.
    """
    from mlops_ci.collect import working_directory
    from mlops_ci.errors import MlopsError
    from mlops_ci.pipeline import read_base_snapshot

    points: list[HistoryPoint] = []
    unreadable: list[str] = []
    for version in versions:
        value: object = (known or {}).get(version.commit)
        if value is None:
            try:
                with working_directory(root):
                    snapshot = read_base_snapshot(root, version.commit, config.metrics.files)
            except MlopsError:
                unreadable.append(version.name)
                continue
            value = snapshot.metrics.get(metric.file, {}).get(metric.name)
        if isinstance(value, (int, float)) and is_finite_number(value):
            points.append(HistoryPoint(version.name, float(value), kind="release"))
        else:
            unreadable.append(version.name)
    return points, unreadable


def model_releases(root: Path, config: Config) -> list[Version]:
    """The registered versions of the model, lowest first (module doc; one git call)."""
    registry = read_registry(root)
    artifact = registry.artifact(config.model.name)
    withdrawn = set(artifact.withdrawn) if artifact is not None else set()
    tagged = tagged_versions(artifact, registry.plain, withdrawn=withdrawn)
    return sorted(tagged.values(), key=lambda v: version_key(v.name))


def revision_point(metric: MetricDiff, kind: str) -> HistoryPoint | None:
    """The base's or the head's value of *metric* with its interval, if it is a number."""
    value = metric.base if kind == "base" else metric.head
    interval = metric.base_interval if kind == "base" else metric.head_interval
    if not is_finite_number(value):
        return None
    low = high = None
    if interval and len(interval) == 2 and all(is_finite_number(v) for v in interval):
        low, high = float(interval[0]), float(interval[1])
    return HistoryPoint(kind, float(value), low, high,
                        kind="base" if kind == "base" else "head")


def attach_history(root: Path, config: Config, report: Report) -> Report:
    """*report* with its history (module doc); empty without a primary metric."""
    primary = report.primary()
    if primary is None:
        return report
    limit = max(config.release.history, 0)
    head_rev = report.head.rev
    versions = [v for v in model_releases(root, config) if v.commit != head_rev]
    chosen = versions[-limit:] if limit else []
    known: dict[str, float] = {}
    base_point = revision_point(primary, "base")
    if report.base.rev and base_point is not None:
        known[report.base.rev] = base_point.value
    points, _ = release_points(root, config, primary, chosen, known=known)
    for kind in ("base", "head"):
        point = revision_point(primary, kind)
        if point is not None:
            points.append(point)
    return dataclasses.replace(report, history=points)


def trusted_history(root: Path, config: Config | None, report: Report) -> Report:
    """For a report someone else's run wrote (the fork-safe commenter): its own history is a
    claim, so it is thrown away and read again from the trusted checkout at *root* (its tags,
    the values at their commits) and from the report's metrics as they stand after the
    trusted base was read into them; empty without a trusted mlops.yaml (*config* None)."""
    cleared = dataclasses.replace(report, history=[])
    return attach_history(root, config, cleared) if config is not None else cleared
