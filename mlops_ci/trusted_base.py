"""The base values of an untrusted report, read again by the trusted workflow.

In the fork-safe pair the pull request's own workflow writes report.json, base values and
all: a fork could claim any base and pass every relative gate (``max_drop``,
``max_increase``), or claim none so that they say "new". So the commenter throws the
artifact's base away. The trusted base is the pull request's base commit as GitHub's API names
it (never the artifact's ``base.rev``); its metrics are read in the base repository's checkout
(the working directory) with DVC's Python API, as `mlops-ci run` reads a base: the files of the
trusted mlops.yaml's ``metrics.files``, else those the base commit's dvc.yaml declares. No code
of the pull request runs, and its commits need not be present.

When that commit cannot be read there, no base value is used at all: the relative gates fail
and say how to make it readable.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from mlops_ci.compare import compare_metrics
from mlops_ci.config import Config, MetricsConfig
from mlops_ci.errors import MlopsError
from mlops_ci.pipeline import Snapshot
from mlops_ci.report import MetricDiff, Report, Revision

DESCRIPTION = "the pull request's base, read by the trusted workflow"


@dataclass(frozen=True)
class TrustedBase:
    """The pull request's base commit, and its metrics as the trusted checkout reads them."""

    sha: str  # 40 hex digits, from GitHub's API
    ref: str | None  # the base branch, e.g. "main"
    snapshot: Snapshot | None  # None: the commit could not be read (see problem)
    problem: str | None = None  # why it could not be read, and the fix


def read_trusted_base(
    root: Path, sha: str, ref: str | None, config: Config | None, head_files: list[str]
) -> TrustedBase:
    """The metrics at *sha* in the checkout *root*, fetching the commit once if it is absent.

    *head_files* (the report's metrics files) only match up metrics: a file the base declares
    but could not be read gives an "unknown" change, not a "new" one.
    """
    from dvc.exceptions import DvcException

    from mlops_ci.collect import working_directory
    from mlops_ci.pipeline import read_base_snapshot

    if not _has_commit(root, sha):
        _fetch(root, sha)
    if not _has_commit(root, sha):
        return TrustedBase(sha, ref, None, problem=not_in_checkout(sha))
    if not (root / ".dvc").is_dir():
        return TrustedBase(sha, ref, None, problem=(
            f"The base repository's checkout is not a DVC repository, so the base commit "
            f"{sha[:7]}'s metrics could not be read there. Run the commenting workflow in a "
            "checkout of the base repository (actions/checkout before `mlops-ci comment`)."
        ))
    files = config.metrics.files if config is not None else ()
    try:
        with working_directory(root):  # DVC resolves targets and names files from the cwd
            snapshot = read_base_snapshot(
                root, sha, files, head_files=head_files, base_name=ref or sha[:12]
            )
    except MlopsError as exc:
        return TrustedBase(sha, ref, None, problem=f"The base commit {sha[:7]}: {exc}")
    except DvcException as exc:  # DVC's own errors (a config it cannot read, say): no base
        return TrustedBase(sha, ref, None, problem=(
            f"DVC could not read the base commit {sha[:7]} in the base repository's checkout "
            f"({type(exc).__name__})."
        ))
    return TrustedBase(sha, ref, snapshot)


def not_in_checkout(sha: str) -> str:
    return (
        f"The pull request's base commit {sha[:7]} is not in the base repository's checkout, "
        "and fetching it from origin failed, so the trusted workflow could not read its "
        "metrics. Check out the whole history in the commenting workflow (actions/checkout "
        "with `fetch-depth: 0`)."
    )


def _has_commit(root: Path, sha: str) -> bool:
    from mlops_ci.revisions import resolve

    return resolve(root, sha) is not None


def _fetch(root: Path, sha: str) -> None:
    """One try at fetching *sha* (and its trees) from origin; offline or refused, it stays
    absent, and the log says why."""
    from mlops_ci.errors import RepositoryError
    from mlops_ci.shallow import fetch_commit, say_on_stderr

    try:
        fetch_commit(root, sha, why="the trusted workflow reads the pull request's base there")
    except RepositoryError as exc:
        say_on_stderr(f"mlops-ci: {exc}")


def rebase(report: Report, base: TrustedBase, config: Config | None) -> Report:
    """*report* with every base value from *base*, none from the report itself. Pure.

    The head values are the report's (a metric it lists twice in one file is left out, so
    its gates fail as not judged). The metric diffs are computed again, and ``report.base``
    names the trusted commit. Without a readable *base*, every metric's base is unknown and
    its ``base_note`` says why: the relative gates fail. A metric that the report moves to a
    file the base does not produce, while the base has it in another, is unknown too: moving
    it must not make its relative gates say "new".
    """
    head: dict[str, dict[str, object]] = {}
    next_base: dict[str, str] = {}
    present = [m for m in report.metrics if m.change != "removed"]
    counts = Counter((m.file, m.name) for m in present)
    twice = {key for key, count in counts.items() if count > 1}
    for metric in present:
        if (metric.file, metric.name) in twice:
            continue  # which of two values is the head's? Neither: its gates are not judged
        head.setdefault(metric.file, {})[metric.name] = metric.head
        if metric.next_base_note:
            next_base.setdefault(metric.file, metric.next_base_note)
    metrics_config = config.metrics if config is not None else _reported_config(report)
    if base.snapshot is None:
        problem = base.problem or not_in_checkout(base.sha)
        diffs = compare_metrics(head, {}, metrics_config, {f: problem for f in head}, next_base)
    else:
        diffs = compare_metrics(
            head, base.snapshot.metrics, metrics_config, base.snapshot.unreadable, next_base
        )
        diffs = list(_moved(diffs, base.snapshot, base.ref or base.sha[:12]))
    revision = Revision(rev=base.sha, ref=base.ref, description=DESCRIPTION)
    return replace(report, base=revision, metrics=diffs)


def _reported_config(report: Report) -> MetricsConfig:
    """Without a trusted mlops.yaml, the report's own directions, for display only."""
    return MetricsConfig(
        primary=report.primary_metric,
        higher_is_better={f"{m.file}:{m.name}": m.higher_is_better for m in report.metrics},
    )


def _moved(diffs: list[MetricDiff], snapshot: Snapshot, revision: str) -> Iterator[MetricDiff]:
    for diff in diffs:
        others = [
            file for file, values in snapshot.metrics.items()
            if file != diff.file and diff.name in values
        ]
        if diff.change == "new" and others:
            yield replace(diff, change="unknown", next_base_note=None, base_note=(
                f"{revision} has this metric in {others[0]}, not in the file the pull "
                "request's report has it in, so its base value is not known here."
            ))
        else:
            yield diff
