"""The checks a tagged commit passes before anything of its release is written.

1. **Reproducible**: the workspace is the tagged commit (no change to a tracked file), the
   model file's md5 is the one ``dvc.lock`` records, no stage upstream of the model or its
   metrics is frozen, and ``dvc status`` finds nothing changed.
   When the model is not in the workspace and a default DVC remote is configured, it is pulled
   first (``dvc pull``), as a fresh clone needs.
2. **Gates**: the Report is built as ``mlops-ci run`` builds it (``collect.collect_report``),
   with the previous release of the same model as the base (``release/previous.py``: a
   version that was published, not merely tagged), else the base branch; any failed
   error-severity gate refuses the release.
3. **Approvals** (``release.require_approvals: N``): the tagged commit belongs to a pull
   request merged into the default branch with at least N approving reviews, each reviewer's
   latest review counting once, and only reviews by reviewers with write access (OWNER,
   MEMBER, COLLABORATOR) of the pull request's final head commit.

A problem with the input (a dirty workspace, a model that differs from ``dvc.lock``) is an
InputError, exit code 2; a failed gate or too few approvals is a verdict, :class:`Refused`,
exit code 1, as a failed gate is for ``mlops-ci run``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from mlops_ci.config import Config
from mlops_ci.errors import EXIT_GATE_FAILED, InputError, MlopsError
from mlops_ci.lockfile import LOCK_FILE
from mlops_ci.report import Report
from mlops_ci.revisions import is_dirty
from mlops_ci.security import log_safe, resolve_inside

if TYPE_CHECKING:
    from mlops_ci.github.client import GitHubClient

SHOWN = 5  # stages or gates named in one refusal
CHUNK = 1 << 20


class Refused(MlopsError):
    """The release is refused on its merits (a gate, the approvals): a verdict, exit code 1."""

    exit_code = EXIT_GATE_FAILED


# --- 1. reproducible ---------------------------------------------------------------------------


def check_reproducible(
    root: Path, config: Config, *, pull: bool, stderr: TextIO | None = None
) -> None:
    """The workspace is the tagged commit, its model is the one dvc.lock records, and
    `dvc status` is clean; with *pull*, a model missing from the workspace is pulled first."""
    if is_dirty(root):
        raise InputError(
            "The workspace has changes to files git tracks; a release is of the tagged commit "
            "as committed. Commit or stash them (`git status` lists them), then run again."
        )
    path = config.model.path
    if not path:
        raise InputError(
            "No model file to release: name it in mlops.yaml (`model.path`) or in dvc.yaml's "
            "`artifacts:`."
        )
    model = resolve_inside(root, path, what="model.path")
    if not model.exists():
        _pull_missing(root, path, pull=pull, stderr=stderr)
    locked = _locked_md5(root, path)
    actual = _md5(model, path)
    if actual != locked:
        raise InputError(
            f"The model file {path} is not the one dvc.lock records: its md5 is {actual}, "
            f"dvc.lock says {locked}. Restore it (`dvc checkout {path}`, or `dvc pull {path}`), "
            "or run `dvc repro` and commit dvc.lock before tagging."
        )
    changed = _dvc_status(root, watched=(path, *config.metrics.files))
    if changed:
        raise InputError(
            f"`dvc status` finds the pipeline changed since dvc.lock was written ({changed}): "
            "the tagged commit would not reproduce this model. Run `dvc repro`, commit dvc.lock "
            "and tag the new commit, or restore the data with `dvc checkout`."
        )


def _pull_missing(root: Path, path: str, *, pull: bool, stderr: TextIO | None) -> None:
    from dvc.repo import Repo

    from mlops_ci.base_files import default_remote
    from mlops_ci.pipeline import use_our_log_handlers

    use_our_log_handlers()
    with Repo(str(root)) as repo:
        remote = default_remote(repo)
        if remote is None:
            raise InputError(
                f"The model file {path} is not in the workspace, and no default DVC remote is "
                "configured to pull it from. Add one (`dvc remote add -d NAME URL`) and "
                "`dvc push` the model there, or run `dvc repro` before releasing."
            )
        if not pull:
            raise InputError(
                f"The model file {path} is not in the workspace; a dry run writes nothing, so it "
                f"does not pull it. Run `dvc pull` (DVC remote '{remote}') first."
            )
        if stderr is not None:
            print(log_safe(f"mlops-ci: pulling the DVC data from the remote '{remote}'"),
                  file=stderr)
        try:
            repo.pull()
        except Exception as exc:  # DVC's own errors: one sentence, the remote and the fix
            words = " ".join(str(exc).split())[:300] or type(exc).__name__
            raise InputError(
                f"`dvc pull` from the DVC remote '{remote}' failed ({log_safe(words)}). Push the "
                "data there (`dvc push`) from a copy that has them, then run again."
            ) from None


def _locked_md5(root: Path, path: str) -> str:
    from mlops_ci.collect import read_head_lock

    lock = read_head_lock(root)
    entries = [] if lock is None else [o for s in lock.stages for o in s.outs if o.path == path]
    if not entries or entries[0].md5 is None:
        raise InputError(
            f"{LOCK_FILE} records no hash for the model file {path}, so the release cannot show "
            f"that it is the pipeline's output. Run `dvc repro` and commit {LOCK_FILE}."
        )
    if entries[0].md5.endswith(".dir"):
        raise InputError(
            f"The model {path} is a directory; a release carries model files. Name the model "
            "file itself in mlops.yaml (`model.path`) or dvc.yaml's `artifacts:`."
        )
    return entries[0].md5


def _md5(model: Path, path: str) -> str:
    if not model.is_file():
        raise InputError(f"The model {path} is not a regular file; release a model file.")
    digest = hashlib.md5(usedforsecurity=False)
    with open(model, "rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _dvc_status(root: Path, *, watched: Iterable[str] = ()) -> str:
    """What `dvc status` reports changed, in words; "" when nothing is. A frozen stage that
    writes a *watched* file (the model, a metrics file) or is upstream of one is refused
    first: `dvc status` does not compare a frozen stage's deps and params with dvc.lock."""
    from dvc.repo import Repo

    from mlops_ci.pipeline import use_our_log_handlers

    use_our_log_handlers()
    try:
        with Repo(str(root)) as repo:
            frozen = _frozen_upstream(repo, set(watched))
            status: dict[str, Any] = {} if frozen else repo.status()
    except Exception as exc:  # DVC's refusal of the pipeline: its words, one sentence
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise InputError(
            f"`dvc status` cannot read the pipeline ({log_safe(reason)}). Run `dvc status` "
            "to see why, and fix dvc.yaml or dvc.lock."
        ) from None
    if frozen:
        shown = ", ".join(frozen[:SHOWN])
        raise InputError(log_safe(
            f"The stage{'s' if len(frozen) != 1 else ''} {shown} of dvc.yaml "
            f"{'are' if len(frozen) != 1 else 'is'} `frozen: true` and produce"
            f"{'' if len(frozen) != 1 else 's'} the model or its metrics (or feed a stage "
            "that does): `dvc status` does not check a frozen stage's dependencies and params "
            "against dvc.lock, so the release cannot show that the model reproduces. Remove "
            "`frozen: true`, run `dvc repro`, commit dvc.lock and tag the new commit."
        ))
    parts = []
    for stage, changes in list(status.items())[:SHOWN]:
        words = []
        for change in changes if isinstance(changes, list) else [changes]:
            if isinstance(change, dict):
                for kind, files in change.items():
                    names = ", ".join(
                        f"{name} {state}" for name, state in dict(files).items()
                    ) if isinstance(files, dict) else str(files)
                    words.append(f"{kind}: {names}" if names else kind)
            else:
                words.append(str(change))
        parts.append(f"{stage}: {'; '.join(words)}")
    if len(status) > SHOWN:
        parts.append(f"and {len(status) - SHOWN} more")
    return log_safe(" · ".join(parts))[:1000]


def _frozen_upstream(repo: Any, watched: set[str]) -> list[str]:
    """The frozen stages that write a *watched* file or a metric, or feed one that does."""
    import warnings

    import networkx as nx

    index = repo.index
    targets = [stage for stage in index.stages
               if any(out.def_path in watched or getattr(out, "metric", False)
                      for out in stage.outs)]
    with warnings.catch_warnings():  # DVC's graph code trips pygtrie's deprecation warning
        warnings.simplefilter("ignore", DeprecationWarning)
        graph = index.graph
    upstream = set(targets)
    for stage in targets:
        if stage in graph:
            upstream |= nx.descendants(graph, stage)  # edges run from a stage to its deps'
    return sorted(str(stage.addressing) for stage in upstream if getattr(stage, "frozen", False))


# --- 2. gates against the previous release -----------------------------------------------------


def check_gates(report: Report) -> None:
    """Refuse the release when an error-severity gate failed."""
    failed = report.failed_gates("error")
    if not failed:
        return
    shown = "; ".join(g.explanation for g in failed[:SHOWN])
    more = f" and {len(failed) - SHOWN} more" if len(failed) > SHOWN else ""
    base = report.base.ref or (report.base.rev or "")[:12] or "no base"
    raise Refused(
        log_safe(
            f"Release refused: {len(failed)} error-severity gate{'s' if len(failed) != 1 else ''}"
            f" failed against {base} ({report.base.description}): {shown}{more}. Nothing was "
            "published. Fix the model and tag a new commit, or change the gate in mlops.yaml "
            "through a reviewed pull request."
        )
    )


# --- 3. approvals ------------------------------------------------------------------------------


_DECISIVE = {"APPROVED", "CHANGES_REQUESTED", "DISMISSED"}  # a comment changes no decision
# Reviewers with write access, as GitHub marks them; an outsider's review (NONE, CONTRIBUTOR,
# FIRST_TIME_CONTRIBUTOR, ...) can be submitted on any public repository and does not count,
# as branch protection does not count it either.
WRITERS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})


def count_approvals(reviews: Iterable[Mapping[str, Any]], *, head_sha: str | None = None) -> int:
    """Approving reviewers: each reviewer's latest decisive review (oldest first) counts once,
    if the reviewer has write access (author_association OWNER, MEMBER or COLLABORATOR) and,
    given *head_sha*, the review is of that commit (the pull request's head when it merged)."""
    latest: dict[str, str] = {}
    for review in reviews:
        user = review.get("user") or {}
        login = user.get("login") if isinstance(user, dict) else None
        state = review.get("state")
        if not isinstance(login, str) or state not in _DECISIVE:
            continue
        if review.get("author_association") not in WRITERS:
            continue
        if head_sha is not None and state == "APPROVED" and review.get("commit_id") != head_sha:
            continue  # an approval of an older head: the merged code was not what was approved
        latest[login] = str(state)
    return sum(state == "APPROVED" for state in latest.values())


def check_approvals(client: GitHubClient, repo: str, commit: str, required: int) -> int:
    """The approving reviews of the pull request that merged *commit* into the repository's
    default branch; Refused when too few."""
    if required <= 0:
        return 0
    from urllib.parse import quote

    info = client.get_json(f"/repos/{repo}")
    default = info.get("default_branch") if isinstance(info, dict) else None
    pulls = list(client.paginate(f"/repos/{repo}/commits/{quote(commit)}/pulls"))
    merged = [p for p in pulls if isinstance(p, dict) and p.get("merged_at")]
    into_default = [p for p in merged if _base_ref(p) == default and default]
    if not into_default:
        elsewhere = sorted({str(_base_ref(p)) for p in merged})
        where = (f"; the merged pull requests went into {', '.join(elsewhere)}"
                 if elsewhere else "")
        raise Refused(log_safe(
            f"Release refused: release.require_approvals is {required}, and commit "
            f"{commit[:12]} belongs to no pull request merged into the default branch "
            f"({default!s}){where}. Merge the change through a reviewed pull request into "
            f"{default!s} and tag the merged commit."
        ))
    best = (0, into_default[0])
    for pull in into_default:
        number = int(pull["number"])
        head = pull.get("head")
        head_sha = head.get("sha") if isinstance(head, dict) else None
        approvals = count_approvals(client.paginate(f"/repos/{repo}/pulls/{number}/reviews"),
                                    head_sha=str(head_sha or ""))
        if approvals >= required:
            return approvals
        best = max(best, (approvals, pull), key=lambda pair: pair[0])
    approvals, pull = best
    raise Refused(
        f"Release refused: release.require_approvals is {required}, and pull request "
        f"#{int(pull['number'])}, which merged commit {commit[:12]}, has {approvals} approving "
        f"review{'s' if approvals != 1 else ''} by reviewers with write access of its final "
        "commit. Have it reviewed (each reviewer's latest review of the head commit counts), "
        "then run the release again."
    )


def _base_ref(pull: Mapping[str, Any]) -> object:
    base = pull.get("base")
    return base.get("ref") if isinstance(base, dict) else None
