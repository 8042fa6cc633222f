"""The fork-safe commenter reads the base values itself (docs/security.md).

The artifact's base values are the pull request author's to forge; `mlops-ci comment` reads
the metrics of the pull request's base commit, as GitHub's API names it, in the base
repository's checkout (real git and dvc here) and judges the artifact's head values against
them. The forged-base tests fail on a commenter that trusts the artifact's base.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from test_comment_command import artifact, run_comment, workflow_run_env

from conftest import dvc, git, new_dvc_repo
from factories import make_metric, make_report
from github_fake import FakeGitHub
from github_fake.state import PR_NUMBER
from mlops_ci.errors import InputError
from mlops_ci.report import Report, Revision

MLOPS = """\
model: {name: m, path: model.pkl}
gates:
  - metric: acc
    min: 0.1
    max_drop: 0.01
"""
ABSENT_SHA = "ab" * 20


def commit_base(root: Path, acc: float, message: str = "base") -> str:
    (root / "metrics.json").write_text(json.dumps({"acc": acc}))
    git("add", "-A", cwd=root)
    git("commit", "-qm", message, cwd=root)
    return git("rev-parse", "HEAD", cwd=root)


def base_project(root: Path, acc: float = 0.9, mlops: str = MLOPS) -> str:
    """The base repository at acc *acc* on main (metrics tracked by git); its commit."""
    new_dvc_repo(root)
    (root / "dvc.yaml").write_text("metrics:\n  - metrics.json\n")
    (root / "mlops.yaml").write_text(mlops)
    return commit_base(root, acc)


def based_on(api: FakeGitHub, sha: str) -> None:
    """The local API's pull request has *sha* as its base commit."""
    api.state.repo().issues[PR_NUMBER].base_sha = sha
    api.state.repo().commits.add(sha)


def claimed(base: float | None, head: float, *, file: str = "metrics.json") -> Report:
    """The fork's report: acc at *head*, and the base it claims (None: no base at all)."""
    revision = Revision(rev=None if base is None else "12" * 20, ref="main")
    return make_report(metrics=[make_metric("acc", base, head, file=file)], gates=[],
                       base=revision)


def posted_and_state(api: FakeGitHub, check_run: bool = False) -> tuple[str, str]:
    repo = api.state.repo()
    (posted,) = repo.comments(PR_NUMBER)
    if check_run:
        (run,) = repo.check_runs
        return posted.body, run["conclusion"]
    (status,) = repo.statuses
    return posted.body, status["state"]


@pytest.mark.parametrize("check_run", [False, True], ids=["status", "check-run"])
def test_a_forged_base_cannot_pass_a_relative_gate(
    github_api: FakeGitHub, tmp_path: Path, check_run: bool
) -> None:
    checkout = tmp_path / "checkout"
    sha = base_project(checkout, acc=0.9)
    based_on(github_api, sha)
    forged = claimed(base=0.5, head=0.5)  # "unchanged": the real base is 0.9

    assert run_comment(workflow_run_env(github_api, tmp_path), artifact(tmp_path, forged),
                       cwd=checkout, check_run=check_run) == 0

    body, state = posted_and_state(github_api, check_run)
    assert state == "failure"
    assert "acc fell by 0.4000, from 0.9000 to 0.5000" in body
    assert "| 0.9000 |" in body and "| 0.5000 |" in body
    assert f"read by the trusted workflow at `{sha[:7]}`" in body


def test_a_report_without_a_base_does_not_make_the_gate_new(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    checkout = tmp_path / "checkout"
    based_on(github_api, base_project(checkout, acc=0.9))

    assert run_comment(workflow_run_env(github_api, tmp_path),
                       artifact(tmp_path, claimed(base=None, head=0.5)), cwd=checkout) == 0

    body, state = posted_and_state(github_api)
    assert state == "failure"
    assert "acc fell by 0.4000, from 0.9000 to 0.5000" in body
    assert "new metric" not in body


def test_an_honest_report_passes(github_api: FakeGitHub, tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    based_on(github_api, base_project(checkout, acc=0.9))

    assert run_comment(workflow_run_env(github_api, tmp_path),
                       artifact(tmp_path, claimed(base=0.9, head=0.895)), cwd=checkout) == 0

    body, state = posted_and_state(github_api)
    assert state == "success", body
    assert "acc fell by 0.0050, from 0.9000 to 0.8950" in body


@pytest.mark.parametrize("extra", ["", "base: {missing: warn}\n"], ids=["default", "warn"])
def test_a_base_commit_the_checkout_lacks_fails_the_relative_gates(
    github_api: FakeGitHub, tmp_path: Path, extra: str
) -> None:
    checkout = tmp_path / "checkout"
    base_project(checkout, acc=0.9, mlops=MLOPS + extra)  # no origin to fetch it from
    based_on(github_api, ABSENT_SHA)

    assert run_comment(workflow_run_env(github_api, tmp_path),
                       artifact(tmp_path, claimed(base=0.9, head=0.895)), cwd=checkout) == 0

    body, state = posted_and_state(github_api)
    assert state == "failure"  # never the artifact's base, even with `missing: warn`
    assert "acc's base value could not be read, so max\\_drop 0.01 fails" in body
    assert f"base commit {ABSENT_SHA[:7]} is not in the base repository's checkout" in body
    assert "actions/checkout with \\`fetch-depth: 0\\`" in body
    assert "acc is 0.8950; it must be at least 0.1." in body  # absolute gates: as today
    assert "**The base values could not be read** by the trusted workflow" in body
    assert "0.9000" not in body


def test_a_base_commit_a_shallow_checkout_lacks_is_fetched(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    upstream = tmp_path / "upstream"
    pr_base = base_project(upstream, acc=0.9)
    commit_base(upstream, 0.95, "main moves on")  # against 0.95, head 0.895 would fail
    checkout = tmp_path / "checkout"
    git("clone", "-q", "--depth", "1", f"file://{upstream}", str(checkout), cwd=tmp_path)
    assert git("rev-parse", "HEAD", cwd=checkout) != pr_base
    based_on(github_api, pr_base)

    assert run_comment(workflow_run_env(github_api, tmp_path),
                       artifact(tmp_path, claimed(base=0.9, head=0.895)), cwd=checkout) == 0

    body, state = posted_and_state(github_api)
    assert state == "success", body
    assert "from 0.9000 to 0.8950" in body


def test_moving_a_metric_to_another_file_does_not_make_its_gate_new(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    checkout = tmp_path / "checkout"
    based_on(github_api, base_project(checkout, acc=0.9))
    moved = claimed(base=None, head=0.5, file="renamed.json")

    assert run_comment(workflow_run_env(github_api, tmp_path), artifact(tmp_path, moved),
                       cwd=checkout) == 0

    body, state = posted_and_state(github_api)
    assert state == "failure"
    assert "main has this metric in metrics.json, not in the file" in body


def test_base_metrics_in_a_dvc_cached_output_are_read_from_the_remote(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    upstream = tmp_path / "upstream"
    new_dvc_repo(upstream)
    (upstream / "eval").mkdir()
    (upstream / "eval" / "metrics.json").write_text(json.dumps({"acc": 0.9}))
    dvc("add", "-q", "eval", cwd=upstream)
    (upstream / "dvc.yaml").write_text("metrics:\n  - eval/metrics.json\n")
    (upstream / "mlops.yaml").write_text(MLOPS)
    dvc("remote", "add", "-d", "storage", str(tmp_path / "remote"), cwd=upstream)
    dvc("push", "-q", cwd=upstream)
    git("add", "-A", cwd=upstream)
    git("commit", "-qm", "base", cwd=upstream)
    checkout = tmp_path / "checkout"  # a fresh clone: no DVC cache
    git("clone", "-q", f"file://{upstream}", str(checkout), cwd=tmp_path)
    based_on(github_api, git("rev-parse", "HEAD", cwd=checkout))
    forged = claimed(base=0.5, head=0.5, file="eval/metrics.json")

    assert run_comment(workflow_run_env(github_api, tmp_path), artifact(tmp_path, forged),
                       cwd=checkout) == 0

    body, state = posted_and_state(github_api)
    assert state == "failure"
    assert "acc fell by 0.4000, from 0.9000 to 0.5000" in body
    shutil.rmtree(tmp_path / "remote")


def test_a_pull_request_without_a_base_commit_is_refused(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    checkout = tmp_path / "checkout"
    base_project(checkout)
    github_api.state.repo().issues[PR_NUMBER].base_sha = "not-a-commit"

    with pytest.raises(InputError, match="names no base commit"):
        run_comment(workflow_run_env(github_api, tmp_path),
                    artifact(tmp_path, claimed(base=0.9, head=0.9)), cwd=checkout)
    repo = github_api.state.repo()
    assert not repo.comments(PR_NUMBER) and not repo.statuses


def test_the_report_names_the_trusted_base(github_api: FakeGitHub, tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    sha = base_project(checkout)
    based_on(github_api, sha)
    env = workflow_run_env(github_api, tmp_path)
    forged = replace(claimed(base=0.5, head=0.5), base=Revision(rev="34" * 20, ref="evil"))

    assert run_comment(env, artifact(tmp_path, forged), cwd=checkout) == 0

    body, _ = posted_and_state(github_api)
    assert "evil" not in body and "3434343" not in body
