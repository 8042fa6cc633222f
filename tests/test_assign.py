"""`mlops-ci assign` (promote), `unassign`, `deprecate` and `registry`, in real git repositories
with a local bare remote, each state checked against `gto show` (PyPI `gto`, test extra)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Result, clean_env, cli, git, new_dvc_repo

GTO = shutil.which("gto", path=str(Path(sys.executable).parent))
EPOCH = 1714557600

RECORD = (
    "mlops-ci release churn {v}: pass\n\nroc_auc min 0.9: pass (0.9312)\nf1 max_drop 0.02: pass"
)


class Repo:
    """A repository, its bare remote `origin`, and a clock: each git write one second later."""

    def __init__(self, root: Path, remote: Path) -> None:
        self.root, self.remote, self.clock = root, remote, 0
        git("init", "-q", "--bare", str(remote), cwd=root.parent)
        git("init", "-q", "-b", "main", cwd=root)
        git("remote", "add", "origin", str(remote), cwd=root)
        self.commits = [self.commit("first")]

    def env(self) -> dict[str, str]:
        """The next second, for git and for mlops-ci's own `git tag`."""
        self.clock += 1
        date = f"{EPOCH + self.clock} +0000"
        return {**clean_env(), "GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date}

    def git(self, *args: str) -> str:
        done = subprocess.run(["git", *args], cwd=self.root, env=self.env(), check=True,
                              capture_output=True, text=True)
        return done.stdout.strip()

    def commit(self, message: str) -> str:
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def release(self, tag: str, version: str, *, record: bool = True) -> None:
        """A release tag as `mlops-ci release` writes it (or, without *record*, by hand),
        pushed like a release's."""
        self.git("tag", "-a", tag, "-m", RECORD.format(v=version) if record else "by hand")
        self.git("push", "-q", "origin", f"refs/tags/{tag}")

    def mlops(self, *args: str) -> Result:
        return cli(*args, cwd=self.root, env=self.env())

    def tags(self) -> set[str]:
        return set(git("tag", "--list", cwd=self.root).split())

    def remote_tags(self) -> set[str]:
        out = git("ls-remote", "--tags", "--refs", str(self.remote), cwd=self.root)
        return {line.split("refs/tags/", 1)[1] for line in out.splitlines()}

    def message(self, tag: str) -> str:
        return git("tag", "--list", "--format=%(contents)", tag, cwd=self.root).strip()

    def target(self, tag: str) -> str:
        return git("rev-parse", f"{tag}^{{commit}}", cwd=self.root)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    (tmp_path / "work").mkdir()
    return Repo(tmp_path / "work", tmp_path / "remote.git")


@pytest.fixture
def two_versions(repo: Repo) -> Repo:
    """churn v1.0.0 on the first commit and v1.1.0 on a second, released by mlops-ci."""
    repo.release("churn@v1.0.0", "v1.0.0")
    repo.commits.append(repo.commit("second"))
    repo.release("churn@v1.1.0", "v1.1.0")
    return repo


def gto_show(root: Path) -> dict[str, object]:
    assert GTO is not None, "the gto command is missing: install mlops-ci with its test extra"
    done = subprocess.run([GTO, "show", "--json"], cwd=root, env=clean_env(),
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def ours(repo: Repo) -> dict[str, object]:
    done = repo.mlops("registry", "--json")
    assert done.code == 0, done.stderr
    return json.loads(done.stdout)


def agreed(repo: Repo) -> dict[str, object]:
    """`mlops-ci registry --json`, once it is the same as `gto show --json`."""
    shown = ours(repo)
    assert shown == gto_show(repo.root)
    return shown


def ok(result: Result) -> Result:
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result


def refused(result: Result, *words: str) -> Result:
    assert result.code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    return result


# --- assign ----------------------------------------------------------------------------------


def test_assign_writes_the_annotated_stage_tag_with_the_gate_record_and_pushes_only_it(
    two_versions: Repo,
):
    repo = two_versions
    git("tag", "-a", "local-only", "-m", "never pushed", cwd=repo.root)  # `--tags` would push it
    done = ok(repo.mlops("assign", "churn", "v1.0.0", "--stage", "prod"))
    assert "churn#prod#1" in done.stdout
    assert git("cat-file", "-t", "churn#prod#1", cwd=repo.root) == "tag"  # annotated
    assert repo.target("churn#prod#1") == repo.commits[0]
    assert repo.message("churn#prod#1") == (
        "mlops-ci assign churn v1.0.0 to prod\n\n"
        "roc_auc min 0.9: pass (0.9312)\nf1 max_drop 0.02: pass"
    )
    assert repo.remote_tags() == {"churn@v1.0.0", "churn@v1.1.0", "churn#prod#1"}
    assert agreed(repo)["churn"] == {
        "version": "v1.1.0", "stage": {"prod": "v1.0.0"}, "registered": True, "active": True,
    }


def test_the_counter_counts_every_tag_of_the_artifact_and_a_note_ends_the_message(
    two_versions: Repo,
):
    repo = two_versions
    git("tag", "churn#dev#7", cwd=repo.root)  # lightweight: ignored by GTO, but its name counts
    ok(repo.mlops("promote", "churn", "churn@v1.1.0", "--stage", "staging", "-m", "canary ok"))
    assert "churn#staging#8" in repo.tags()
    assert repo.message("churn#staging#8").endswith("f1 max_drop 0.02: pass\n\ncanary ok")
    assert "churn#staging#8" in repo.remote_tags()


def test_a_version_tag_without_mlops_ci_s_record_says_so(repo: Repo):
    repo.release("churn@v2.0.0", "v2.0.0", record=False)
    ok(repo.mlops("assign", "churn", "v2.0.0", "--stage", "prod", "--no-push"))
    assert repo.message("churn#prod#1") == (
        "mlops-ci assign churn v2.0.0 to prod\n\n"
        "The version tag churn@v2.0.0 carries no mlops-ci gate record."
    )


def test_assign_rollback_unassign_and_deprecate_agree_with_gto_locally_and_on_the_remote(
    two_versions: Repo, tmp_path: Path
):
    repo = two_versions
    ok(repo.mlops("assign", "churn", "v1.0.0", "--stage", "prod"))
    ok(repo.mlops("assign", "churn", "v1.1.0", "--stage", "prod"))
    assert agreed(repo)["churn"]["stage"] == {"prod": "v1.1.0"}

    rollback = ok(repo.mlops("assign", "churn", "v1.0.0", "--stage", "prod"))  # a rollback
    assert "it had v1.1.0" in rollback.stdout
    assert agreed(repo)["churn"]["stage"] == {"prod": "v1.0.0"}
    assert repo.target("churn#prod#3") == repo.commits[0]

    # the stage goes back to the version assigned before the one taken out
    done = ok(repo.mlops("unassign", "churn", "--stage", "prod"))
    assert "churn#prod!#4" in done.stdout and "prod now holds v1.1.0" in done.stdout
    assert repo.message("churn#prod!#4") == "mlops-ci unassign churn v1.0.0 from prod"
    assert agreed(repo)["churn"]["stage"] == {"prod": "v1.1.0"}

    ok(repo.mlops("deprecate", "churn"))
    assert "churn@deprecated" in repo.tags()
    assert agreed(repo) == {}

    # every tag reached the remote: a fresh clone reads the same registry
    clone = tmp_path / "clone"
    git("clone", "-q", str(repo.remote), str(clone), cwd=tmp_path)
    assert gto_show(clone) == {}
    assert repo.remote_tags() == repo.tags()
    # GTO's own per-artifact reading agrees that churn is hidden
    from gto.api import show

    assert show(str(clone), name="churn") == []


def test_assigning_the_version_already_in_the_stage_writes_nothing(two_versions: Repo):
    repo = two_versions
    ok(repo.mlops("assign", "churn", "v1.1.0", "--stage", "prod"))
    before = repo.tags(), repo.remote_tags()
    done = ok(repo.mlops("assign", "churn", "v1.1.0", "--stage", "prod"))
    assert "already in prod" in done.stdout
    assert (repo.tags(), repo.remote_tags()) == before


def test_no_push_tags_locally_only(two_versions: Repo):
    repo = two_versions
    done = ok(repo.mlops("assign", "churn", "v1.0.0", "--stage", "prod", "--no-push"))
    assert "not pushed" in done.stdout
    assert "churn#prod#1" in repo.tags()
    assert "churn#prod#1" not in repo.remote_tags()


def test_no_push_needs_no_remote_and_push_refuses_a_missing_one(two_versions: Repo):
    repo = two_versions
    refused(repo.mlops("assign", "churn", "v1.0.0", "--stage", "prod", "--remote", "upstream"),
            "no git remote 'upstream'", "origin", "--no-push")
    assert not any("#" in tag for tag in repo.tags())


def test_a_push_the_remote_refuses_deletes_the_local_tag_again(two_versions: Repo):
    repo = two_versions
    hook = repo.remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'stage tags need a review' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = repo.tags(), repo.remote_tags()
    done = refused(repo.mlops("assign", "churn", "v1.0.0", "--stage", "prod"),
                   "churn#prod#1", "deleted again", "stage tags need a review")
    assert (repo.tags(), repo.remote_tags()) == before
    assert agreed(repo)["churn"]["stage"] == {}
    assert done.stdout == ""


# --- refusals: exit 2 with what exists, nothing written --------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["nope", "v1.0.0", "--stage", "prod"], ["no model 'nope'", "churn"]),
        (["churn", "v9.9.9", "--stage", "prod"], ["v9.9.9 is not registered", "v1.1.0, v1.0.0"]),
        (["churn", "1.0", "--stage", "prod"], ["'1.0' is not a version", "vX.Y.Z"]),
        (["churn", "other@v1.0.0", "--stage", "prod"], ["a version of other, not of churn"]),
        (["churn", "v1.0.0", "--stage", "pr od"], ["Stage 'pr od'", "letters, digits"]),
        (["churn", "v1.0.0", "--stage", "-prod"], ["Stage '-prod'", "starting and ending"]),
        (["bad name", "v1.0.0", "--stage", "prod"], ["Model name 'bad name'"]),
    ],
)
def test_bad_requests_are_refused_with_the_form_and_write_nothing(
    two_versions: Repo, args: list[str], words: list[str]
):
    repo = two_versions
    before = repo.tags(), repo.remote_tags()
    refused(repo.mlops("assign", *args), *words)
    assert (repo.tags(), repo.remote_tags()) == before


def test_a_deregistered_version_is_refused(two_versions: Repo):
    repo = two_versions
    repo.git("tag", "-a", "churn@v1.1.0!", repo.commits[1], "-m", "withdrawn")
    refused(repo.mlops("assign", "churn", "v1.1.0", "--stage", "prod"),
            "was deregistered (tag churn@v1.1.0!)", "v1.0.0")
    assert not any("#" in tag for tag in repo.tags())


def test_a_deprecated_model_is_refused_and_deprecating_again_is_a_no_op(two_versions: Repo):
    repo = two_versions
    ok(repo.mlops("deprecate", "churn", "--no-push"))
    before = repo.tags()
    refused(repo.mlops("assign", "churn", "v1.0.0", "--stage", "prod"), "churn is deprecated")
    refused(repo.mlops("unassign", "churn", "--stage", "prod"), "churn is deprecated")
    assert "already deprecated" in ok(repo.mlops("deprecate", "churn")).stdout
    assert repo.tags() == before


def test_a_revived_model_is_deprecated_again_with_a_counter(two_versions: Repo):
    repo = two_versions
    ok(repo.mlops("deprecate", "churn", "--no-push"))
    repo.commits.append(repo.commit("third"))
    repo.release("churn@v2.0.0", "v2.0.0")  # a new registration revives it
    assert agreed(repo)["churn"]["version"] == "v2.0.0"
    ok(repo.mlops("deprecate", "churn", "--no-push"))
    assert "churn@deprecated#1" in repo.tags()
    assert agreed(repo) == {}


def test_a_deprecation_gto_would_not_count_is_deleted_again(two_versions: Repo):
    """GTO counts a version's commit date as an event: a commit dated after the deprecation
    keeps the model active, so the tag would say one thing and the registry another."""
    repo = two_versions
    future = f"{EPOCH + 100_000} +0000"
    subprocess.run(["git", "commit", "-q", "--allow-empty", "-m", "dated ahead"], cwd=repo.root,
                   env={**clean_env(), "GIT_COMMITTER_DATE": future, "GIT_AUTHOR_DATE": future},
                   check=True)
    repo.release("churn@v1.2.0", "v1.2.0")
    before = repo.tags(), repo.remote_tags()
    refused(repo.mlops("deprecate", "churn"), "churn@deprecated", "deleted again")
    assert (repo.tags(), repo.remote_tags()) == before
    assert agreed(repo)["churn"]["version"] == "v1.2.0"


def test_unassign_refuses_a_stage_never_used_and_passes_over_an_empty_one(two_versions: Repo):
    repo = two_versions
    ok(repo.mlops("assign", "churn", "v1.0.0", "--stage", "prod", "--no-push"))
    refused(repo.mlops("unassign", "churn", "--stage", "prdo"), "'prdo'", "its stages: prod")
    ok(repo.mlops("unassign", "churn", "--stage", "prod", "--no-push"))
    before = repo.tags()
    assert "no version in prod" in ok(repo.mlops("unassign", "churn", "--stage", "prod")).stdout
    assert repo.tags() == before


# --- a single model released with bare vX.Y.Z tags ------------------------------------------


def test_a_bare_version_tag_is_registered_under_the_model_s_name_with_its_record(tmp_path: Path):
    root = new_dvc_repo(tmp_path / "single")
    (root / "dvc.yaml").write_text("artifacts:\n  churn:\n    path: model.pkl\n    type: model\n")
    remote = tmp_path / "single.git"
    git("init", "-q", "--bare", str(remote), cwd=tmp_path)
    git("remote", "add", "origin", str(remote), cwd=root)
    git("add", ".", cwd=root)
    git("commit", "-q", "-m", "pipeline", cwd=root)
    git("tag", "-a", "v1.3.0", "-m", RECORD.format(v="v1.3.0"), cwd=root)
    head = git("rev-parse", "HEAD", cwd=root)

    refused(cli("assign", "other", "v1.3.0", "--stage", "prod", cwd=root), "no model 'other'")
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\nexit 1\n")
    hook.chmod(0o755)
    refused(cli("assign", "churn", "v1.3.0", "--stage", "prod", cwd=root), "deleted again")
    assert git("tag", "--list", cwd=root) == "v1.3.0"  # neither of the two tags is left
    hook.unlink()
    ok(cli("assign", "churn", "v1.3.0", "--stage", "prod", cwd=root))
    # as `gto assign --version` does: the version registered, then the stage assigned
    assert git("cat-file", "-t", "churn@v1.3.0", cwd=root) == "tag"
    assert git("rev-parse", "churn@v1.3.0^{commit}", cwd=root) == head
    assert git("tag", "-l", "--format=%(contents)", "churn@v1.3.0", cwd=root).strip() == (
        RECORD.format(v="v1.3.0")
    )
    assert "roc_auc min 0.9: pass (0.9312)" in git(
        "tag", "-l", "--format=%(contents)", "churn#prod#1", cwd=root
    )
    out = git("ls-remote", "--tags", "--refs", str(remote), cwd=root)
    assert sorted(line.split("refs/tags/")[1] for line in out.splitlines()) == [
        "churn#prod#1", "churn@v1.3.0"
    ]
    assert gto_show(root) == json.loads(ok(cli("registry", "--json", cwd=root)).stdout) == {
        "churn": {"version": "v1.3.0", "stage": {"prod": "v1.3.0"}, "registered": True,
                  "active": True}
    }


# --- registry --------------------------------------------------------------------------------


def test_registry_prints_the_models_and_each_model_s_versions(two_versions: Repo):
    repo = two_versions
    ok(repo.mlops("assign", "churn", "v1.0.0", "--stage", "prod", "--no-push"))
    ok(repo.mlops("assign", "churn", "v1.1.0", "--stage", "staging", "--no-push"))
    table = ok(repo.mlops("registry")).stdout.splitlines()
    assert table[0].split() == ["name", "latest", "#prod", "#staging"]
    assert table[2].split() == ["churn", "v1.1.0", "v1.0.0", "v1.1.0"]
    assert ok(repo.mlops("show")).stdout.splitlines() == table

    versions = ok(repo.mlops("registry", "churn")).stdout.splitlines()
    assert versions[0].split() == ["version", "stages", "commit", "created", "tag"]
    assert versions[2].split()[:3] == ["v1.1.0", "staging", repo.commits[1][:12]]
    assert versions[3].split()[:3] == ["v1.0.0", "prod", repo.commits[0][:12]]
    listed = json.loads(ok(repo.mlops("registry", "churn", "--json")).stdout)
    assert [(v["version"], v["stages"], v["commit_hexsha"], v["ref"]) for v in listed] == [
        ("v1.1.0", ["staging"], repo.commits[1], "churn@v1.1.0"),
        ("v1.0.0", ["prod"], repo.commits[0], "churn@v1.0.0"),
    ]
    refused(repo.mlops("registry", "nope"), "no model 'nope'", "churn")


def test_registry_names_deprecated_models_and_bare_tags_below_the_table(two_versions: Repo):
    repo = two_versions
    repo.git("tag", "-a", "old@v3.0.0", "-m", "old")
    repo.git("tag", "-a", "old@deprecated", "-m", "retired")
    repo.git("tag", "-a", "v0.9.0", repo.commits[0], "-m", "bare")
    lines = ok(repo.mlops("registry")).stdout.splitlines()
    assert [line.split()[0] for line in lines[2:3]] == ["churn"]  # old is not a row
    assert lines[3:] == [
        "Deprecated (not listed): old.",
        "Bare version tags (the repository's single model, not read by GTO): latest v0.9.0, "
        "1 in all.",
    ]
    assert "deprecated" in ok(repo.mlops("registry", "old")).stdout
    assert json.loads(ok(repo.mlops("registry", "old", "--json")).stdout) == []
    assert set(agreed(repo)) == {"churn"}


def test_registry_in_a_repository_without_tags_says_how_to_get_them(repo: Repo):
    assert "fetch-depth: 0" in ok(repo.mlops("registry")).stdout
    assert json.loads(ok(repo.mlops("registry", "--json")).stdout) == {} == gto_show(repo.root)


# --- check-ref -------------------------------------------------------------------------------


def test_check_ref_reads_the_pushed_tag_into_step_outputs(tmp_path: Path):
    outputs = tmp_path / "outputs"
    outputs.touch()
    done = ok(cli("check-ref", "--json", cwd=tmp_path, env={
        "GITHUB_REF": "refs/tags/team/churn#eu-west/prod!#12", "GITHUB_OUTPUT": str(outputs)}))
    parts = {"tag": "team/churn#eu-west/prod!#12", "artifact": "team/churn",
             "action": "unassign", "version": "", "stage": "eu-west/prod", "counter": "12"}
    assert json.loads(done.stdout) == parts
    from mlops_ci.action_inputs import last_output

    assert {name: last_output(str(outputs), name) for name in parts} == parts


@pytest.mark.parametrize(
    ("args", "env", "words"),
    [
        (["churn#prod#x"], {}, ["not in the model registry's (GTO's) grammar", "NAME#STAGE#N"]),
        ([], {"GITHUB_REF": "refs/heads/main"}, ["'refs/heads/main', not a tag"]),
        ([], {}, ["$GITHUB_REF is not set"]),
    ],
)
def test_check_ref_refuses_what_is_not_a_registry_tag(
    tmp_path: Path, args: list[str], env: dict[str, str], words: list[str]
):
    refused(cli("check-ref", *args, cwd=tmp_path, env=env), *words)
