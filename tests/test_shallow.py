"""Shallow checkouts (issue 8, section 3): the base fetched from origin on GitHub Actions.

Real git and real dvc. The origin has history on main and on a pull request's branch, several
commits each, so one commit of either is not enough; its metrics are a DVC-cached output in a
local-directory remote. The clones are made as actions/checkout makes them: `git clone
--depth=1` from a file URL (the URL makes the depth apply), or only `refs/pull/N/merge`, the
merge commit GitHub builds for a pull request, fetched one commit deep.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from conftest import cli, dvc, git, new_dvc_repo
from github_fake import FakeGitHub
from github_fake.runner import actions_env, pull_request_payload
from mlops_ci import shallow
from mlops_ci.errors import InputError, RepositoryError

EVALUATE = (
    "import json, os\nos.makedirs('eval', exist_ok=True)\n"
    "acc = float(open('score').read()) + float(open('bonus').read())\n"
    "json.dump({'acc': round(acc, 4)}, open('eval/metrics.json', 'w'))\n"
)
DVC_YAML = f"""\
stages:
  evaluate:
    cmd: {sys.executable} evaluate.py
    deps: [score, bonus, evaluate.py]
    outs: [eval]
metrics:
  - eval/metrics.json
"""
# Against the merge-base (0.9) the head (0.89) passes; against main's tip (0.95) it would fail.
MLOPS = """\
model: {name: m, path: eval}
gates:
  - metric: acc
    max_drop: 0.03
"""
PR = 1


def commit(root: Path, message: str, **files: str) -> str:
    for name, text in files.items():
        (root / name).write_text(text)
    if "score" in files or "bonus" in files:
        dvc("repro", "-q", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-qm", message, cwd=root)
    return git("rev-parse", "HEAD", cwd=root)


class Origin:
    """The repository the clones are made from, and the commits the tests name."""

    def __init__(self, root: Path) -> None:
        self.root = root
        new_dvc_repo(root)
        dvc("remote", "add", "-d", "storage", str(root.parent / "storage"), cwd=root)
        (root / ".gitignore").write_text("/eval\n.mlops/\n")
        commit(root, "base", **{"dvc.yaml": DVC_YAML, "mlops.yaml": MLOPS,
                                "evaluate.py": EVALUATE, "score": "0.9", "bonus": "0"})
        for n in range(3):
            commit(root, f"main {n}", notes=f"main {n}\n")
        self.fork = git("rev-parse", "HEAD", cwd=root)
        git("checkout", "-qb", "change", cwd=root)
        for n in range(4):
            commit(root, f"change {n}", notes=f"change {n}\n")
        self.head = commit(root, "lower the score", score="0.89")
        git("checkout", "-q", "main", cwd=root)
        for n in range(3):
            commit(root, f"main moves on {n}", notes=f"moved {n}\n")
        self.main = commit(root, "a bonus on main", bonus="0.05")
        git("tag", "v1", "main~1", cwd=root)
        self.tagged = git("rev-parse", "main~1", cwd=root)
        # GitHub's refs/pull/N/merge: the pull request merged into main's tip, reproduced
        git("checkout", "-q", "--detach", "main", cwd=root)
        git("merge", "-q", "--no-ff", "-X", "theirs", "-m", "Merge change", "change", cwd=root)
        dvc("repro", "-q", cwd=root)
        git("commit", "-q", "--amend", "-a", "--no-edit", cwd=root)
        self.merge = git("rev-parse", "HEAD", cwd=root)
        git("update-ref", f"refs/pull/{PR}/merge", self.merge, cwd=root)
        git("checkout", "-q", "main", cwd=root)
        dvc("push", "-q", "--all-commits", cwd=root)

    @property
    def url(self) -> str:
        return self.root.as_uri()


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Origin:
    return Origin(tmp_path_factory.mktemp("shallow") / "origin")


def head_clone(origin: Origin, where: Path) -> Path:
    """`git clone --depth=1` of the pull request's branch: one commit, no main."""
    git("clone", "-q", "--depth=1", "--no-tags", "-b", "change", origin.url, str(where),
        cwd=where.parent)
    assert git("rev-parse", "--is-shallow-repository", cwd=where) == "true"
    assert git("rev-list", "--count", "HEAD", cwd=where) == "1"
    return where


def merge_ref_clone(origin: Origin, where: Path) -> Path:
    """What actions/checkout does on a pull_request event: the merge commit alone, detached."""
    where.mkdir()
    git("init", "-q", cwd=where)
    git("remote", "add", "origin", origin.url, cwd=where)
    git("fetch", "-q", "--no-tags", "--depth=1", "origin",
        f"+refs/pull/{PR}/merge:refs/remotes/pull/{PR}/merge", cwd=where)
    git("checkout", "-q", "--detach", f"refs/remotes/pull/{PR}/merge", cwd=where)
    assert git("for-each-ref", "--format=%(refname)", cwd=where) == f"refs/remotes/pull/{PR}/merge"
    return where


def on_actions(api: FakeGitHub, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = actions_env(api, tmp_path, "pull_request", pull_request_payload())
    return {**env, **extra}


def report(root: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((root / ".mlops" / "report.json").read_text())


def fetch_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("mlops-ci: fetching ")]


def depths(stderr: str) -> list[str]:
    """How deep each fetch went, as its log line says: "50 commits deep", "1 commit deeper"."""
    return [re.findall(r"\((\d+ commits? deep(?:er)?)\)", line)[0] for line in fetch_lines(stderr)]


# --- mlops-ci run, end to end --------------------------------------------------------------


def test_a_depth_1_clone_on_actions_fetches_main_and_compares_with_the_merge_base(
    origin: Origin, github_api: FakeGitHub, tmp_path: Path
) -> None:
    clone = head_clone(origin, tmp_path / "clone")
    result = cli("run", cwd=clone, env=on_actions(github_api, tmp_path))
    assert result.code == 0, result.stdout + result.stderr
    lines = fetch_lines(result.stderr)
    assert lines[0] == (
        "mlops-ci: fetching branch main from origin into origin/main (50 commits deep): the "
        "checkout lacks the pull request's base branch ($GITHUB_BASE_REF)"
    )
    assert lines[1:] == [
        "mlops-ci: fetching HEAD and origin/main from origin (50 commits deeper): the shallow "
        "checkout does not reach the merge-base of HEAD and origin/main"
    ]
    data = report(clone)
    assert (data["base"]["rev"], data["base"]["ref"]) == (origin.fork, "origin/main")
    # acc at the merge-base, from the DVC remote (the clone has no cache): not main's 0.95
    assert [(m["base"], m["head"]) for m in data["metrics"]] == [(0.9, 0.89)]
    assert git("rev-parse", "origin/main", cwd=clone) == origin.main


def test_a_merge_ref_checkout_fetches_main_and_compares_with_its_first_parent(
    origin: Origin, github_api: FakeGitHub, tmp_path: Path
) -> None:
    clone = merge_ref_clone(origin, tmp_path / "clone")
    result = cli("run", cwd=clone, env=on_actions(github_api, tmp_path))
    assert result.code == 0, result.stdout + result.stderr
    assert len(fetch_lines(result.stderr)) == 2, result.stderr
    data = report(clone)
    assert data["head"]["rev"] == origin.merge
    assert (data["base"]["rev"], data["base"]["ref"]) == (origin.main, "origin/main")
    assert [(m["base"], m["head"]) for m in data["metrics"]] == [(0.95, 0.94)]


def test_a_second_run_fetches_nothing(
    origin: Origin, github_api: FakeGitHub, tmp_path: Path
) -> None:
    clone = head_clone(origin, tmp_path / "clone")
    env = on_actions(github_api, tmp_path)
    assert cli("run", "--no-repro", cwd=clone, env=env).code in (0, 1)
    again = cli("run", "--no-repro", cwd=clone, env=env)
    assert fetch_lines(again.stderr) == [], again.stderr
    assert report(clone)["base"]["rev"] == origin.fork


def test_base_on_actions_fetches_the_branch_it_names(
    origin: Origin, github_api: FakeGitHub, tmp_path: Path
) -> None:
    clone = head_clone(origin, tmp_path / "clone")
    result = cli("run", "--no-repro", "--base", "main", cwd=clone,
                 env=on_actions(github_api, tmp_path))
    assert result.code == 1, result.stdout + result.stderr  # main's tip: 0.95 -> 0.89
    assert fetch_lines(result.stderr) == [
        "mlops-ci: fetching branch main from origin into origin/main (1 commit deep): the "
        "checkout lacks the revision --base names"
    ]
    assert report(clone)["base"]["rev"] == origin.main


@pytest.mark.parametrize("kind", ["tag", "sha"])
def test_base_on_actions_fetches_the_tag_or_commit_it_names(
    origin: Origin, github_api: FakeGitHub, tmp_path: Path, kind: str
) -> None:
    clone = head_clone(origin, tmp_path / "clone")
    sha = origin.tagged
    name, shown = ("v1", "tag v1") if kind == "tag" else (sha, f"commit {sha[:12]}")
    result = cli("run", "--no-repro", "--base", name, cwd=clone,
                 env=on_actions(github_api, tmp_path))
    assert result.code == 0, result.stdout + result.stderr  # acc 0.9 before main's bonus
    assert fetch_lines(result.stderr) == [
        f"mlops-ci: fetching {shown} from origin (1 commit deep): the checkout lacks the "
        "revision --base names"
    ]
    assert report(clone)["base"]["rev"] == origin.tagged


def test_outside_actions_the_clear_error_stays_and_nothing_is_fetched(
    origin: Origin, tmp_path: Path
) -> None:
    clone = head_clone(origin, tmp_path / "clone")
    result = cli("run", "--no-repro", cwd=clone, env={"GITHUB_BASE_REF": "main"})
    assert result.code == 2, result.stdout + result.stderr
    assert "base branch 'main' ($GITHUB_BASE_REF) is not in this checkout" in result.stderr
    assert "fetch-depth: 0" in result.stderr
    assert fetch_lines(result.stderr) == []
    assert git("for-each-ref", "refs/remotes/origin/main", cwd=clone) == ""


def test_the_bound_is_honoured_with_a_clear_error(
    origin: Origin, github_api: FakeGitHub, tmp_path: Path
) -> None:
    clone = head_clone(origin, tmp_path / "clone")
    env = on_actions(github_api, tmp_path, MLOPS_CI_FETCH_DEPTH="2")
    result = cli("run", "--no-repro", cwd=clone, env=env)
    assert result.code == 2, result.stdout + result.stderr
    assert depths(result.stderr) == ["2 commits deep", "2 commits deeper"]
    message = result.stderr.strip().splitlines()[-1]
    assert message == (
        "mlops-ci: error: In this shallow checkout HEAD and origin/main share no commit, after "
        "deepening each side by 2 commits (the most MLOPS_CI_FETCH_DEPTH allows). Set "
        "MLOPS_CI_FETCH_DEPTH higher, or check out the whole history (actions/checkout with "
        "`fetch-depth: 0`)."
    )
    # the branch's 5 commits need 4 more; 7 is enough
    deep = cli("run", "--no-repro", cwd=clone, env={**env, "MLOPS_CI_FETCH_DEPTH": "7"})
    assert deep.code == 0, deep.stderr
    assert depths(deep.stderr) == ["7 commits deeper"]
    assert report(clone)["base"]["rev"] == origin.fork


@pytest.mark.parametrize("value", ["lots", "0", "-5", "99999999"])
def test_a_bad_fetch_depth_is_an_input_error(
    origin: Origin, github_api: FakeGitHub, tmp_path: Path, value: str
) -> None:
    clone = head_clone(origin, tmp_path / "clone")
    result = cli("run", "--no-repro", cwd=clone,
                 env=on_actions(github_api, tmp_path, MLOPS_CI_FETCH_DEPTH=value))
    assert result.code == 2, result.stdout + result.stderr
    assert f"MLOPS_CI_FETCH_DEPTH is {value!r}, not a number of commits" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_origin_is_one_clear_error(
    origin: Origin, github_api: FakeGitHub, tmp_path: Path
) -> None:
    clone = head_clone(origin, tmp_path / "clone")
    git("remote", "set-url", "origin", (tmp_path / "gone").as_uri(), cwd=clone)
    result = cli("run", "--no-repro", cwd=clone, env=on_actions(github_api, tmp_path))
    assert result.code == 2, result.stdout + result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("mlops-ci: error: Fetching branch main from origin failed (")
    assert "does not appear to be a git repository" in message
    assert message.endswith("or check out the whole history (actions/checkout with "
                            "`fetch-depth: 0`).")
    assert "Traceback" not in result.stderr


# --- the fetching itself -------------------------------------------------------------------


def test_a_hung_origin_is_stopped_at_the_time_limit(origin: Origin, tmp_path: Path) -> None:
    clone = head_clone(origin, tmp_path / "clone")
    hang = tmp_path / "hang"
    hang.write_text("#!/bin/sh\nexec sleep 60\n")
    hang.chmod(0o755)
    git("config", "remote.origin.uploadpack", str(hang), cwd=clone)
    said: list[str] = []
    with pytest.raises(RepositoryError) as info:
        shallow.fetch(clone, ["main"], depth=1, shown="branch main", why="a test", say=said.append,
                      timeout=1.0)
    assert str(info.value) == (
        "Fetching branch main from origin took longer than 1 s and was stopped. Check that the "
        "job can reach origin, or check out the whole history (actions/checkout with "
        "`fetch-depth: 0`)."
    )
    assert said == ["mlops-ci: fetching branch main from origin (1 commit deep): a test"]


def side_merge_origin(root: Path) -> dict[str, str]:
    """A history where a shallow clone makes `git merge-base` name an older common ancestor.

    main: R - A - B - C - D. The branch starts at A (X), then merges a side line off C
    (S1 - S2 - S3) and adds Y. The real merge-base of Y and D is C; one commit short of S1,
    the clone reaches A through X but not C.
    """
    root.mkdir()
    git("init", "-q", "-b", "main", cwd=root)
    shas = {}
    for name in "RABCD":
        (root / "f").write_text(name)
        git("add", "f", cwd=root)
        git("commit", "-qm", name, cwd=root)
        shas[name] = git("rev-parse", "HEAD", cwd=root)
    git("checkout", "-qb", "side", shas["C"], cwd=root)
    for name in ("S1", "S2", "S3"):
        (root / "s").write_text(name)
        git("add", "s", cwd=root)
        git("commit", "-qm", name, cwd=root)
    git("checkout", "-qb", "change", shas["A"], cwd=root)
    (root / "x").write_text("X")
    git("add", "x", cwd=root)
    git("commit", "-qm", "X", cwd=root)
    git("merge", "-q", "--no-ff", "-m", "MX", "side", cwd=root)
    (root / "y").write_text("Y")
    git("add", "y", cwd=root)
    git("commit", "-qm", "Y", cwd=root)
    return shas


def side_merge_clone(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A clone of side_merge_origin's history just shallow enough that git's own merge-base
    of HEAD and origin/main is A, older than the real one, C."""
    shas = side_merge_origin(tmp_path / "origin")
    clone = tmp_path / "clone"
    git("clone", "-q", "--depth=4", "-b", "change", (tmp_path / "origin").as_uri(), str(clone),
        cwd=tmp_path)
    git("fetch", "-q", "--depth=5", "origin", "+refs/heads/main:refs/remotes/origin/main",
        cwd=clone)
    assert git("merge-base", "HEAD", "origin/main", cwd=clone) == shas["A"]
    return clone, shas


def test_a_wrong_merge_base_behind_a_shallow_boundary_is_deepened_away(tmp_path: Path) -> None:
    clone, shas = side_merge_clone(tmp_path)
    actions = {"GITHUB_ACTIONS": "true"}
    said: list[str] = []
    found = shallow.merge_base(clone, shas["D"], ref="origin/main", env=actions, say=said.append,
                               first_step=1)
    assert found == shas["C"]
    # S2 then S1 (its parent C was there already): the step doubles
    assert said == [
        f"mlops-ci: fetching HEAD and origin/main from origin ({n} deeper): the shallow "
        "checkout may hide a later merge-base of HEAD and origin/main"
        for n in ("1 commit", "2 commits")
    ]


def test_an_uncertain_merge_base_at_the_bound_is_an_error(tmp_path: Path) -> None:
    clone, shas = side_merge_clone(tmp_path)
    # outside Actions, git's answer stands and nothing is fetched
    assert shallow.merge_base(clone, shas["D"], ref="origin/main", env={}) == shas["A"]
    with pytest.raises(RepositoryError, match="the merge-base of HEAD and origin/main is not "
                                              "certain, after deepening each side by 1 commit "):
        shallow.merge_base(clone, shas["D"], ref="origin/main",
                           env={"GITHUB_ACTIONS": "true", "MLOPS_CI_FETCH_DEPTH": "1"},
                           say=lambda line: None)


def test_fetch_depth_bound_reads_the_variable() -> None:
    assert shallow.fetch_depth_bound({}) == shallow.DEFAULT_FETCH_DEPTH
    assert shallow.fetch_depth_bound({"MLOPS_CI_FETCH_DEPTH": " 25 "}) == 25
    with pytest.raises(InputError):
        shallow.fetch_depth_bound({"MLOPS_CI_FETCH_DEPTH": "1e3"})


@pytest.mark.parametrize(
    "name", ["", "-x", "a..b", "a b", "a:b", "a~1", "refs/../x", "x.lock", "x/", "/x", "a@{1}",
             "::stop-commands::x", "0" * 40],
)
def test_names_that_never_reach_a_refspec(name: str) -> None:
    assert not shallow.is_branch_name(name)


# --- the trusted workflow's base commit: the same fetch --------------------------------------


def test_the_trusted_base_commit_is_fetched_with_a_log_line(
    origin: Origin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlops_ci.trusted_base import read_trusted_base

    clone = head_clone(origin, tmp_path / "clone")
    base = read_trusted_base(clone, origin.fork, "main", None, ["eval/metrics.json"])
    assert base.problem is None and base.snapshot is not None
    assert base.snapshot.metrics == {"eval/metrics.json": {"acc": 0.9}}  # from the DVC remote
    assert fetch_lines(capsys.readouterr().err) == [
        f"mlops-ci: fetching commit {origin.fork[:12]} from origin (1 commit deep): the trusted "
        "workflow reads the pull request's base there"
    ]


def test_a_trusted_base_commit_origin_cannot_give_says_why_in_the_log(
    origin: Origin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlops_ci.trusted_base import read_trusted_base

    clone = head_clone(origin, tmp_path / "clone")
    git("remote", "set-url", "origin", (tmp_path / "gone").as_uri(), cwd=clone)
    base = read_trusted_base(clone, origin.fork, "main", None, ["eval/metrics.json"])
    assert base.snapshot is None and base.problem is not None
    assert "fetching it from origin failed" in base.problem
    err = capsys.readouterr().err
    assert f"mlops-ci: Fetching commit {origin.fork[:12]} from origin failed (fatal: " in err
