"""`mlops-ci release`: the tag, the checks before anything is written, --dry-run.

Real git and DVC (tests/release_repo.py: a pipeline, a local-directory DVC remote, a bare
origin per test) and the local GitHub API. The publishing path end to end is in
test_release_publish.py.
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from release_repo import ReleaseRepo, build_template, copy_of

from conftest import cli, dvc, git, tree_state
from github_fake.reviews import add_review, merge_pull
from github_fake.server import FakeGitHub
from github_fake.state import BOT_TOKEN, OWNER, REPO
from mlops_ci.commands.release import release
from mlops_ci.config import load_config
from mlops_ci.errors import EXIT_GATE_FAILED, EXIT_USAGE, MlopsError
from mlops_ci.registry_tags import RELEASE_FORM
from mlops_ci.release.approve import check_reproducible


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> ReleaseRepo:
    return build_template(tmp_path_factory.mktemp("release-template"))


@pytest.fixture
def repo(template: ReleaseRepo, tmp_path: Path) -> Iterator[ReleaseRepo]:
    yield copy_of(template, tmp_path)


def actions_env(repo: ReleaseRepo, api: FakeGitHub, tag: str, **extra: str) -> dict[str, str]:
    """What the runner sets for the release workflow on a push of *tag*."""
    files = repo.root.parent / "runner"
    files.mkdir(exist_ok=True)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")},
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": "push",
        "GITHUB_REPOSITORY": f"{OWNER}/{REPO}",
        "GITHUB_RUN_ID": "1234567890",
        "GITHUB_SHA": repo.head(),
        "GITHUB_REF": f"refs/tags/{tag}",
        "GITHUB_API_URL": api.url,
        "GITHUB_SERVER_URL": api.origin,
        "GITHUB_TOKEN": BOT_TOKEN,
        "GITHUB_OUTPUT": str(files / "output"),
        "GITHUB_STEP_SUMMARY": str(files / "summary"),
    }
    env.update(extra)
    return env


def run_release(repo: ReleaseRepo, env: dict[str, str], *, tag: str | None = None,
                dry_run: bool = False) -> tuple[int, str, str]:
    """The command in this process: (exit code, stdout, stderr); an error gives its code."""
    out, err = io.StringIO(), io.StringIO()
    try:
        code = release(cwd=repo.root, tag=tag, dry_run=dry_run, env=env, stdout=out, stderr=err)
    except MlopsError as exc:
        return exc.exit_code, out.getvalue(), f"{err.getvalue()}{exc}"
    return code, out.getvalue(), err.getvalue()


def writes(api: FakeGitHub) -> list[str]:
    return [f"{r.method} {r.path}" for r in api.requests if r.method != "GET"]


def next_release(repo: ReleaseRepo, bonus: float, tag: str) -> str:
    sha = repo.commit_model(bonus, f"Model for {tag}")
    repo.tag(tag)
    return sha


# --- the tag ---------------------------------------------------------------------------------


def test_the_tag_comes_from_github_ref_and_a_branch_push_is_refused(
    repo: ReleaseRepo, github_api: FakeGitHub
) -> None:
    env = actions_env(repo, github_api, "v1.0.0", GITHUB_REF="refs/heads/main")
    code, _, err = run_release(repo, env, dry_run=True)
    assert code == EXIT_USAGE
    assert "GITHUB_REF is 'refs/heads/main', not a tag" in err and "--tag" in err

    code, out, _ = run_release(repo, actions_env(repo, github_api, "v1.0.0"), dry_run=True)
    assert code == 0 and "tag:        v1.0.0" in out


@pytest.mark.parametrize("tag", ["v1.3", "1.0.0", "release-2024", "churn@1.0.0", "churn#prod#1"])
def test_a_tag_that_is_not_semver_is_refused_with_the_expected_form(
    repo: ReleaseRepo, tag: str
) -> None:
    git("tag", "-a", tag, "-m", "x", cwd=repo.root)
    code, _, err = run_release(repo, dict(os.environ), tag=tag, dry_run=True)
    assert code == EXIT_USAGE
    assert RELEASE_FORM in err and repr(tag) in err


def test_a_lightweight_tag_is_refused_and_says_git_tag_a(repo: ReleaseRepo) -> None:
    git("tag", "v1.0.1", cwd=repo.root)
    code, _, err = run_release(repo, dict(os.environ), tag="v1.0.1", dry_run=True)
    assert code == EXIT_USAGE
    assert "lightweight" in err and "git tag -a v1.0.1" in err


def test_a_tag_for_another_model_is_refused_naming_the_models(repo: ReleaseRepo) -> None:
    git("tag", "-a", "fraud@v1.0.0", "-m", "x", cwd=repo.root)
    code, _, err = run_release(repo, dict(os.environ), tag="fraud@v1.0.0", dry_run=True)
    assert code == EXIT_USAGE
    assert "'fraud'" in err and "'churn'" in err and RELEASE_FORM in err


def test_the_named_form_of_the_configured_model_is_accepted(repo: ReleaseRepo) -> None:
    git("tag", "-a", "churn@v1.0.0", "-m", "x", cwd=repo.root)
    code, out, err = run_release(repo, dict(os.environ), tag="churn@v1.0.0", dry_run=True)
    assert code == 0, err
    assert "tag:        churn@v1.0.0\n" in out  # no second registry tag for a GTO tag


def test_a_missing_tag_and_a_tag_elsewhere_are_refused(repo: ReleaseRepo) -> None:
    code, _, err = run_release(repo, dict(os.environ), tag="v9.9.9", dry_run=True)
    assert code == EXIT_USAGE and "not in this clone" in err and "fetch-depth: 0" in err

    repo.commit_model(0.01, "Later")
    code, _, err = run_release(repo, dict(os.environ), tag="v1.0.0", dry_run=True)
    assert code == EXIT_USAGE and "git checkout v1.0.0" in err


# --- reproducible ----------------------------------------------------------------------------


def test_a_changed_dependency_dirty_dvc_status_is_refused(repo: ReleaseRepo) -> None:
    # `source` is DVC's, not git's: git sees no change, `dvc status` does
    (repo.root / "source").write_text("0.85")
    code, _, err = run_release(repo, dict(os.environ), tag="v1.0.0", dry_run=True)
    assert code == EXIT_USAGE
    assert "`dvc status`" in err and "source" in err and "dvc repro" in err


def test_a_model_that_differs_from_dvc_lock_is_refused(repo: ReleaseRepo) -> None:
    model = repo.root / "model.pkl"
    model.unlink()  # DVC links from its cache: replace the file, do not write through it
    model.write_bytes(b"\x80\x04N.")
    code, _, err = run_release(repo, dict(os.environ), tag="v1.0.0", dry_run=True)
    assert code == EXIT_USAGE
    assert "model.pkl is not the one dvc.lock records" in err and "dvc checkout" in err


def test_a_missing_model_is_pulled_from_the_default_remote(repo: ReleaseRepo) -> None:
    (repo.root / "model.pkl").unlink()  # a fresh clone: no model, no cache
    shutil.rmtree(repo.root / ".dvc" / "cache")
    code, _, err = run_release(repo, dict(os.environ), tag="v1.0.0", dry_run=True)
    assert code == EXIT_USAGE and "dvc pull" in err  # a dry run pulls nothing
    assert not (repo.root / "model.pkl").exists()

    stderr = io.StringIO()
    check_reproducible(repo.root, load_config(repo.root), pull=True, stderr=stderr)
    assert (repo.root / "model.pkl").is_file()
    assert "pulling the DVC data from the remote 'storage'" in stderr.getvalue()


# --- gates against the previous release ------------------------------------------------------


def test_gates_are_judged_against_the_previous_release(repo: ReleaseRepo) -> None:
    git("checkout", "-qb", "drift", cwd=repo.root)
    repo.commit_model(0.03, "Better")  # acc 0.83, released as v1.1.0
    repo.tag("v1.1.0")
    repo.mark_released("v1.1.0")
    repo.commit_model(-0.01, "Worse than v1.1.0 by 0.04: within max_drop")
    repo.tag("v1.2.0")
    code, _, err = run_release(repo, dict(os.environ), tag="v1.2.0", dry_run=True)
    assert code == 0, err
    assert "against previous release v1.1.0" in err
    repo.mark_released("v1.2.0")

    repo.commit_model(-0.1, "acc 0.7: 0.09 below v1.2.0's 0.79")
    repo.tag("v1.3.0")
    code, _, err = run_release(repo, dict(os.environ), tag="v1.3.0", dry_run=True)
    assert code == EXIT_GATE_FAILED
    assert "Release refused" in err and "v1.2.0" in err and "Nothing was published" in err


def test_a_failing_release_writes_nothing_and_only_reads(
    repo: ReleaseRepo, github_api: FakeGitHub
) -> None:
    github_api.add_release(tag="v1.0.0")  # published: the previous release
    next_release(repo, -0.2, "v1.1.0")  # acc 0.6 against v1.0.0's 0.8
    before = tree_state(repo.root)
    tags_before = git("tag", "--list", cwd=repo.root)
    origin_before = repo.origin_tags()
    env = actions_env(repo, github_api, "v1.1.0")
    result = cli("release", cwd=repo.root, env=env)
    assert result.code == EXIT_GATE_FAILED, result.stderr
    assert "Release refused" in result.stderr and "acc" in result.stderr
    assert "Traceback" not in result.stderr
    assert writes(github_api) == []
    assert [r.tag_name for r in github_api.state.repo().releases.values()] == ["v1.0.0"]
    assert tree_state(repo.root) == before
    assert git("tag", "--list", cwd=repo.root) == tags_before
    assert repo.origin_tags() == origin_before
    assert not Path(env["GITHUB_OUTPUT"]).exists()


# --- approvals -------------------------------------------------------------------------------


def require_approvals(repo: ReleaseRepo, count: int) -> None:
    text = (repo.root / "mlops.yaml").read_text()
    (repo.root / "mlops.yaml").write_text(text + f"release:\n  require_approvals: {count}\n")


def merged_pull_with_reviews(api: FakeGitHub, merge_sha: str, *states: tuple[str, str]) -> int:
    state = api.state
    repo = state.repo()
    pull = state.add_pull(repo, 12, "Retrain", state.users["octocat"], head_ref="retrain",
                          head_sha="a" * 40, base_sha="b" * 40)
    merge_pull(state, repo, pull.number, merge_sha)
    for login, review_state in states:
        user = state.users.get(login) or state.add_user(login, 1000 + len(state.users))
        add_review(state, repo, pull.number, user, review_state)
    return pull.number


def test_too_few_approvals_refuse_the_release(repo: ReleaseRepo, github_api: FakeGitHub) -> None:
    require_approvals(repo, 3)
    sha = next_release(repo, 0.01, "v1.1.0")
    merged_pull_with_reviews(
        github_api, sha,
        ("alice", "APPROVED"), ("bob", "APPROVED"), ("bob", "CHANGES_REQUESTED"),
        ("carol", "APPROVED"), ("carol", "COMMENTED"),  # a comment keeps carol's approval
    )
    code, _, err = run_release(repo, actions_env(repo, github_api, "v1.1.0"), dry_run=True)
    assert code == EXIT_GATE_FAILED, err
    # alice and carol: bob's latest review requests changes, carol's comment decides nothing
    assert "#12" in err and "has 2 approving reviews" in err
    assert "require_approvals is 3" in err
    assert writes(github_api) == []


def test_enough_approvals_and_no_merged_pull_request(
    repo: ReleaseRepo, github_api: FakeGitHub
) -> None:
    require_approvals(repo, 2)
    sha = next_release(repo, 0.01, "v1.1.0")
    env = actions_env(repo, github_api, "v1.1.0")
    code, _, err = run_release(repo, env, dry_run=True)
    assert code == EXIT_GATE_FAILED
    assert "no pull request merged into the default branch (main)" in err

    merged_pull_with_reviews(github_api, sha, ("alice", "APPROVED"), ("bob", "APPROVED"))
    code, _, err = run_release(repo, env, dry_run=True)
    assert code == 0, err
    assert "2 approving reviews" in err
    assert github_api.calls("GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews")


# --- dry run ---------------------------------------------------------------------------------


def test_dry_run_lists_every_file_with_size_and_sha256_and_writes_nothing(
    repo: ReleaseRepo, github_api: FakeGitHub
) -> None:
    next_release(repo, 0.01, "v1.1.0-rc.1")
    before = tree_state(repo.root)
    env = actions_env(repo, github_api, "v1.1.0-rc.1")
    result = cli("release", "--dry-run", cwd=repo.root, env=env)
    assert result.code == 0, result.stderr
    out = result.stdout
    assert "prerelease: yes" in out and "name:       churn v1.1.0-rc.1" in out
    assert "churn@v1.1.0-rc.1" in out  # the registry tag it would write
    for name in ("model.pkl", "model-card.md", "report.json", "metrics.json", "params.yaml",
                 "dvc.lock", "evidence.json", "SHA256SUMS"):
        assert f"    {name} " in out, name
    assert "sha256:" in out and "bytes" in out and "notes:" in out
    assert writes(github_api) == []
    assert tree_state(repo.root) == before
    assert "churn@v1.1.0-rc.1" not in git("tag", "--list", cwd=repo.root)
    assert not Path(env["GITHUB_OUTPUT"]).exists()


def test_publishing_needs_github_actions(repo: ReleaseRepo) -> None:
    code, _, err = run_release(repo, dict(os.environ), tag="v1.0.0")
    assert code == EXIT_USAGE and "--dry-run" in err


def test_a_signing_key_named_but_not_set_is_an_error_naming_it(
    repo: ReleaseRepo, github_api: FakeGitHub
) -> None:
    text = (repo.root / "mlops.yaml").read_text()
    (repo.root / "mlops.yaml").write_text(text + "release:\n  signing: {key: RELEASE_KEY}\n")
    git("commit", "-qam", "Sign releases", cwd=repo.root)
    dvc("status", cwd=repo.root)
    git("tag", "-a", "v1.0.1", "-m", "x", cwd=repo.root)
    # a dry run says it does not sign, and goes on
    code, out, err = run_release(repo, dict(os.environ), tag="v1.0.1", dry_run=True)
    assert code == 0 and "RELEASE_KEY is not set" in err and "signed:     no" in out


def test_one_of_several_models_is_released_by_its_name(repo: ReleaseRepo) -> None:
    (repo.root / "dvc.yaml").write_text(
        (repo.root / "dvc.yaml").read_text()
        + "artifacts:\n  churn: {path: model.pkl, type: model}\n"
        "  fraud: {path: model.pkl, type: model}\n"
    )
    git("commit", "-qam", "Two models", cwd=repo.root)
    git("tag", "-a", "v2.0.0", "-m", "x", cwd=repo.root)
    code, _, err = run_release(repo, dict(os.environ), tag="v2.0.0", dry_run=True)
    assert code == EXIT_USAGE and "several" in err and "churn@v2.0.0" in err

    git("tag", "-a", "fraud@v2.0.0", "-m", "x", cwd=repo.root)
    code, out, err = run_release(repo, dict(os.environ), tag="fraud@v2.0.0", dry_run=True)
    assert code == 0, err
    assert "name:       fraud v2.0.0" in out and "registry tag" not in out


def test_a_pipeline_dvc_refuses_is_an_input_error_not_a_crash(repo: ReleaseRepo) -> None:
    (repo.root / "dvc.yaml").write_text(
        (repo.root / "dvc.yaml").read_text()
        + "artifacts:\n  churn: {path: model.pkl, type: model, desc: a, b}\n"
    )
    git("commit", "-qam", "An artifact DVC refuses", cwd=repo.root)
    git("tag", "-a", "v2.0.0", "-m", "x", cwd=repo.root)
    result = cli("release", "--tag", "v2.0.0", "--dry-run", cwd=repo.root)
    assert result.code == EXIT_USAGE, result.stderr
    assert "cannot read the pipeline" in result.stderr and "Traceback" not in result.stderr
