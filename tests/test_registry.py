"""The registry read from real git tags in temporary repositories, and cross-checked with GTO."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import clean_env, git
from mlops_ci.errors import CommandError
from mlops_ci.registry import Artifact, Registry, read_registry
from mlops_ci.registry_tags import (
    deprecate_tag,
    deregister_tag,
    stage_tag,
    unassign_tag,
    version_tag,
)

GTO = shutil.which("gto", path=str(Path(sys.executable).parent))


class Repo:
    """A git repository whose tags get distinct tagger dates (one second apart by default)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.clock = 0
        git("init", "-q", "-b", "main", cwd=root)
        self.commits = [self.commit("first")]

    def commit(self, message: str, *, at: int | None = None) -> str:
        self.run("commit", "-q", "--allow-empty", "-m", message, at=at)
        return git("rev-parse", "HEAD", cwd=self.root)

    def tag(self, name: str, rev: str = "HEAD", *, message: str = "", same_second: bool = False):
        self.run("tag", "-a", name, "-m", message or f"tag {name}", rev, same_second=same_second)

    def run(self, *args: str, at: int | None = None, same_second: bool = False) -> None:
        """git ARGS with author and committer dated by the repository's clock (or *at*)."""
        self.clock += 0 if same_second else 1
        date = f"{1714557600 + (self.clock if at is None else at)} +0000"
        env = {**clean_env(), "GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date}
        subprocess.run(["git", *args], cwd=self.root, env=env, check=True)

    def lightweight(self, name: str, rev: str = "HEAD") -> None:
        git("tag", name, rev, cwd=self.root)

    def read(self) -> Registry:
        return read_registry(self.root)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return Repo(tmp_path)


def artifact_of(repo: Repo, name: str = "churn") -> Artifact:
    found = repo.read().artifact(name)
    assert found is not None, f"no artifact {name!r} in {repo.read().artifacts}"
    return found


def in_stage(artifact: Artifact, stage: str) -> str | None:
    version = artifact.stage_version(stage)
    return version.name if version else None


def test_only_annotated_tags_count(repo: Repo):
    repo.tag("churn@v1.0.0")
    repo.lightweight("churn@v2.0.0")
    repo.lightweight("churn#prod#5")
    repo.lightweight("other@v1.0.0")
    registry = repo.read()
    churn = registry.artifact("churn")
    assert churn is not None
    assert [v.name for v in churn.versions] == ["v1.0.0"]
    assert churn.stages == {}
    assert registry.artifact("other") is None
    # ...but every tag counts towards the next counter, so a new name never collides
    assert churn.counter == registry.next_counter("churn") == 6


def test_a_version_carries_its_commit_tag_date_and_message(repo: Repo):
    repo.tag("churn@v1.0.0", message="First model\n\nAUC 0.91 — ✓")
    version = repo.read().artifact("churn").latest_version
    assert version is not None
    assert (version.commit, version.tag, version.registered) == (
        repo.commits[0],
        "churn@v1.0.0",
        True,
    )
    assert version.message == "First model\n\nAUC 0.91 — ✓"
    assert version.created is not None and version.created.timestamp() == 1714557602


def test_a_signed_tag_counts_and_its_signature_stays_out_of_the_message(
    repo: Repo, tmp_path_factory: pytest.TempPathFactory
):
    key = tmp_path_factory.mktemp("keys") / "signing"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    signing = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={key}"]
    repo.run(*signing, "tag", "-s", "churn@v1.0.0", "-m", "Gates passed")
    version = artifact_of(repo).latest_version
    assert version is not None and version.message == "Gates passed"


def test_stages_follow_the_last_assignment_so_assigning_an_older_version_rolls_back(repo: Repo):
    first = repo.commits[0]
    repo.tag("churn@v1.0.0")
    repo.tag("churn#prod#1")
    second = repo.commit("second")
    repo.tag("churn@v1.1.0")
    repo.tag("churn#prod#2")
    repo.tag("churn#staging#3")
    churn = artifact_of(repo)
    assert {s: v.name for s, v in churn.stages.items()} == {"prod": "v1.1.0", "staging": "v1.1.0"}
    assert [v.name for v in churn.stage_versions("prod")] == ["v1.1.0", "v1.0.0"]

    repo.tag("churn#prod#4", first, message="Roll back: v1.1.0 drifts")  # rollback
    churn = artifact_of(repo)
    assert (churn.held["prod"][0].tag, churn.held["prod"][0].message) == (
        "churn#prod#4",
        "Roll back: v1.1.0 drifts",
    )
    assert in_stage(churn, "prod") == "v1.0.0"
    assert churn.latest_version.name == "v1.1.0"
    assert churn.stages_at(first) == ("prod",)
    assert churn.stages_at(second) == ("staging",)
    assert [v.name for v in churn.versions_at(second)] == ["v1.1.0"]


def test_unassign_removes_a_stage_and_a_later_assignment_brings_it_back(repo: Repo):
    repo.tag("churn@v1.0.0")
    repo.tag("churn#prod#1")
    repo.tag("churn#prod!#2")
    churn = artifact_of(repo)
    assert churn.stages == {} and churn.stage_version("prod") is None
    repo.tag("churn#prod#3")
    churn = artifact_of(repo)
    assert in_stage(churn, "prod") == "v1.0.0"


def two_versions_in_prod(repo: Repo) -> None:
    """v1.0.0 on the first commit, v2.0.0 on a second, each assigned prod in turn."""
    repo.tag("churn@v1.0.0")
    repo.tag("churn#prod#1")
    repo.commit("second")
    repo.tag("churn@v2.0.0")
    repo.tag("churn#prod#2")


def test_unassigning_the_newer_version_leaves_the_stage_to_the_one_before(repo: Repo):
    two_versions_in_prod(repo)
    repo.tag("churn#prod!#3")
    churn = artifact_of(repo)
    assert in_stage(churn, "prod") == "v1.0.0"


def test_deregistering_removes_the_version_and_its_stages(repo: Repo):
    two_versions_in_prod(repo)
    repo.tag("churn@v2.0.0!")
    churn = artifact_of(repo)
    assert [v.name for v in churn.versions] == ["v1.0.0"]
    assert churn.latest_version.name == "v1.0.0"
    assert in_stage(churn, "prod") == "v1.0.0"
    assert churn.version("v2.0.0") is None


def test_a_deregistration_on_another_commit_does_not_touch_the_version(repo: Repo):
    # GTO tells versions apart by name and commit, and so does the reader
    repo.tag("churn@v1.0.0")
    repo.commit("second")
    repo.tag("churn@v1.0.0!")
    churn = artifact_of(repo)
    assert [v.name for v in churn.versions] == ["v1.0.0"]


def test_deprecation_hides_the_artifact_until_a_later_event(repo: Repo):
    repo.tag("churn@v1.0.0")
    repo.tag("churn#prod#1")
    repo.tag("other@v0.1.0")
    repo.tag("churn@deprecated")
    registry = repo.read()
    churn = registry.artifact("churn")
    assert churn is not None and churn.deprecated
    assert (churn.versions, churn.latest_version, churn.stages) == ((), None, {})
    assert churn.stage_version("prod") is None
    assert registry.versions_at(repo.commits[0]) == {"other": registry.artifact("other").versions}
    repo.commit("revived")
    repo.tag("churn@v2.0.0")  # GTO: the artifact is active again when its latest event is not
    churn = artifact_of(repo)
    assert not churn.deprecated
    assert [v.name for v in churn.versions] == ["v2.0.0", "v1.0.0"]


def test_a_deprecation_older_than_a_versions_commit_does_not_count(repo: Repo):
    repo.commit("from the future", at=10_000)
    repo.tag("churn@v1.0.0")
    repo.tag("churn@deprecated")
    assert not artifact_of(repo).deprecated


def test_a_deprecation_in_the_same_second_as_another_event_does_not_count(repo: Repo):
    repo.tag("churn@v1.0.0")
    repo.tag("churn@deprecated", same_second=True)
    assert not artifact_of(repo).deprecated


def test_several_artifacts_and_the_folder_form(repo: Repo):
    repo.tag("churn@v1.0.0")
    repo.tag("models/nlp=sentiment@v0.3.0")
    repo.tag("models/nlp=sentiment#prod#1")
    head = repo.commit("second")
    repo.tag("churn@v1.1.0-rc.1")
    registry = repo.read()
    assert sorted(registry.artifacts) == ["churn", "models/nlp:sentiment"]
    sentiment = registry.artifact("models/nlp:sentiment")
    assert sentiment is not None and sentiment.stages_at(repo.commits[0]) == ("prod",)
    assert registry.stages_at(repo.commits[0]) == {"models/nlp:sentiment": ("prod",)}
    assert {n: [v.name for v in vs] for n, vs in registry.versions_at(head).items()} == {
        "churn": ["v1.1.0-rc.1"]
    }
    churn = registry.artifact("churn")
    assert churn is not None
    assert churn.latest_version.name == "v1.1.0-rc.1"
    assert churn.latest_version.prerelease
    assert churn.previous_version("v1.1.0-rc.1").name == "v1.0.0"
    assert churn.previous_version("v1.0.0") is None
    assert registry.next_counter("churn") == 1
    assert registry.next_counter("models/nlp:sentiment") == 2


def test_latest_version_is_semver_order_not_tag_order(repo: Repo):
    repo.tag("churn@v1.10.0")
    repo.commit("second")
    repo.tag("churn@v1.9.0")
    repo.commit("third")
    repo.tag("churn@v1.10.0-rc.1")
    churn = artifact_of(repo)
    assert [v.name for v in churn.versions] == ["v1.10.0", "v1.10.0-rc.1", "v1.9.0"]


def test_legacy_stage_tags_without_counter_are_read(repo: Repo):
    repo.tag("churn@v1.0.0")
    repo.tag("churn#prod")
    churn = artifact_of(repo)
    assert in_stage(churn, "prod") == "v1.0.0"
    assert churn.counter == 1


def test_within_one_second_the_higher_counter_is_the_later_event(repo: Repo):
    repo.tag("churn@v1.0.0")
    repo.tag("churn#prod#1")
    repo.tag("churn#prod!#2", same_second=True)
    churn = artifact_of(repo)
    assert churn.stage_version("prod") is None


def test_a_stage_on_a_commit_without_a_version_names_the_commit(repo: Repo):
    repo.tag("churn@v1.0.0")
    head = repo.commit("unregistered")
    repo.tag("churn#dev#1")
    churn = artifact_of(repo)
    dev = churn.stage_version("dev")
    assert dev is not None and (dev.name, dev.commit, dev.registered) == (head, head, False)
    assert [v.name for v in churn.versions] == ["v1.0.0"]  # it is no registered version
    repo.tag("churn#dev!#2")
    assert artifact_of(repo).stages == {}


def test_an_assignment_belongs_to_the_version_registered_on_its_commit_even_later(repo: Repo):
    repo.tag("churn#prod#1")
    repo.tag("churn@v1.0.0")
    churn = artifact_of(repo)
    assert in_stage(churn, "prod") == "v1.0.0"


def test_bare_version_tags_are_the_single_models_versions(repo: Repo):
    repo.tag("v1.2.0")
    repo.commit("second")
    repo.tag("v1.3.0-rc.1")
    repo.lightweight("v9.0.0")
    registry = repo.read()
    assert registry.artifacts == {}
    plain = registry.plain
    assert plain is not None and plain.plain and plain.name == ""
    assert [v.name for v in plain.versions] == ["v1.3.0-rc.1", "v1.2.0"]
    assert registry.for_model(None) is plain and registry.for_model("churn") is plain
    assert plain.previous_version("v1.3.0-rc.1").name == "v1.2.0"
    assert registry.versions_at(repo.commits[0]) == {"": (plain.versions[1],)}
    repo.tag("churn@v0.1.0")
    registry = repo.read()
    assert registry.for_model("churn") is registry.artifact("churn")
    assert registry.for_model(None) is registry.plain


def test_tags_gto_cannot_use_are_ignored(repo: Repo):
    repo.tag("churn@v1.0.0")
    repo.tag("churn@created")  # GTO's reader fails on it; ours skips it
    repo.tag("release-2024")
    repo.tag("nested", "churn@v1.0.0")  # a tag of a tag
    tree = git("rev-parse", "HEAD^{tree}", cwd=repo.root)
    repo.tag("tree@v1.0.0", tree)
    registry = repo.read()
    assert sorted(registry.artifacts) == ["churn"]
    assert [v.name for v in registry.artifact("churn").versions] == ["v1.0.0"]
    assert "release-2024" in registry.tag_names and "nested" in registry.tag_names


def test_a_repository_without_commits_or_tags_has_an_empty_registry(tmp_path: Path):
    git("init", "-q", cwd=tmp_path)
    assert read_registry(tmp_path) == Registry(artifacts={})


def test_outside_a_repository_git_says_so(tmp_path: Path):
    with pytest.raises(CommandError, match="git for-each-ref failed"):
        read_registry(tmp_path)


# --- cross-check with GTO itself (PyPI `gto`, in the test extra) ---------------------------


def scenario_promotions(repo: Repo) -> None:
    first = repo.commits[0]
    repo.tag("churn@v1.0.0")
    repo.tag("churn#staging#1")
    repo.commit("second")
    repo.tag("churn@v1.1.0")
    repo.tag("churn#staging#2")
    repo.tag("churn#prod#3")
    repo.commit("third")
    repo.tag("churn@v1.2.0-rc.1")
    repo.tag("churn#dev#4")
    repo.tag("churn#prod#5", first)  # rollback


def scenario_cancellations(repo: Repo) -> None:
    repo.tag("churn@v1.0.0")
    repo.tag("churn#prod#1")
    repo.tag("churn#staging#2")
    repo.commit("second")
    repo.tag("churn@v2.0.0")
    repo.tag("churn#prod#3")
    repo.tag("churn#staging!#4", repo.commits[0])
    repo.tag("churn@v2.0.0!")  # prod falls back to v1.0.0
    repo.tag("churn#qa#5")  # on the deregistered version: no stage


def scenario_several_models(repo: Repo) -> None:
    repo.tag("churn@v1.0.0")
    repo.tag("models/nlp=sentiment@v0.1.0")
    repo.tag("old@v3.0.0")
    repo.tag("old#prod#1")
    repo.lightweight("churn@v9.0.0")
    repo.lightweight("churn#prod#7")
    repo.commit("second")
    repo.tag("models/nlp=sentiment@v0.2.0+build.3")
    repo.tag("models/nlp=sentiment#prod")  # legacy form
    repo.tag("old@deprecated")
    repo.tag("churn@v1.0.1")
    repo.tag("churn#prod#8")
    repo.tag("v4.0.0")  # bare: not GTO's, so not in its listing either


def scenario_deprecated_then_revived(repo: Repo) -> None:
    repo.tag("churn@v1.0.0")
    repo.tag("churn#prod#1")
    repo.tag("churn@deprecated")
    repo.commit("second")
    repo.tag("churn@v1.1.0")
    repo.tag("churn#prod#2")
    repo.tag("churn#prod!#3")


def scenario_commit_dated_after_the_deprecation(repo: Repo) -> None:
    repo.tag("churn@v1.0.0")
    repo.commit("from the future", at=10_000)
    repo.tag("churn@v1.1.0")
    repo.tag("churn@deprecated")  # older than v1.1.0's commit: GTO keeps churn active


def scenario_ties_within_one_second(repo: Repo) -> None:
    repo.tag("churn@v1.0.0")
    repo.tag("churn#prod#1")
    repo.tag("churn#prod!#2", same_second=True)
    repo.tag("churn#staging#3")
    repo.tag("other@v1.0.0")
    repo.tag("other@deprecated", same_second=True)  # a tie goes to the other event


@pytest.mark.parametrize(
    "scenario",
    [
        scenario_promotions,
        scenario_cancellations,
        scenario_several_models,
        scenario_deprecated_then_revived,
        scenario_commit_dated_after_the_deprecation,
        scenario_ties_within_one_second,
    ],
)
def test_gto_show_lists_the_same_versions_and_stages(repo: Repo, scenario):
    scenario(repo)
    registry = repo.read()

    assert registry.show() == gto_show(repo.root)

    # per artifact, through GTO's Python API (the CLI's `gto show NAME`): every version with
    # the stage it holds, and with `--vs -1` every version each stage has, latest first
    from gto.api import show

    for name, artifact in registry.artifacts.items():
        listed = show(str(repo.root), name=name)
        if artifact.deprecated:
            assert listed == []
            continue
        assert {v["version"]: sorted(s["stage"] for s in v["stages"]) for v in listed} == {
            v.name: sorted(s for s, current in artifact.stages.items() if current == v)
            for v in artifact.versions
        }
        every = show(str(repo.root), name=name, versions_per_stage=-1)
        for stage in artifact.held:
            theirs_in_stage = sorted(
                (s["activated_at"], v["version"])
                for v in every
                for s in v["stages"]
                if s["stage"] == stage
            )
            assert [v.name for v in artifact.stage_versions(stage)] == [
                version for _, version in reversed(theirs_in_stage)
            ]


def gto_show(root: Path) -> dict[str, dict[str, object]]:
    """`gto show --json`, run as a user runs it."""
    assert GTO is not None, "the gto command is missing: install mlops-ci with its test extra"
    proc = subprocess.run(
        [GTO, "show", "--json"], cwd=root, env=clean_env(), capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# Random histories: every kind of event, on three commits and two artifacts, in any order.
# Left out are the two corners where GTO itself breaks (documented in docs/registry.md): a
# stage on a commit that no version tag names, and two versions on one commit.
VERSION_ON = {"churn": ("v1.0.0", "v1.1.0-rc.1", "v2.0.0"), "models/nlp:sentiment": ("v0.1.0",) * 3}
EVENTS = st.tuples(
    st.sampled_from(sorted(VERSION_ON)),
    st.integers(0, 2),  # the commit
    st.sampled_from(["@", "@!", "#", "#!", "@deprecated"]),
    st.sampled_from(["prod", "staging"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(EVENTS, min_size=1, max_size=12))
def test_any_history_reads_as_gto_reads_it(events):
    from gto.api import show

    with tempfile.TemporaryDirectory() as folder:
        repo = Repo(Path(folder))
        commits = [*repo.commits, repo.commit("second"), repo.commit("third")]
        versioned = {(name, at) for name, at, kind, _ in events if kind in ("@", "@!")}
        for counter, (name, at, kind, stage) in enumerate(events, start=1):
            version = VERSION_ON[name][at]
            if kind.startswith("#") and (name, at) not in versioned:
                continue
            tag = {
                "@": version_tag(name, version),
                "@!": deregister_tag(name, version),
                "#": stage_tag(name, stage, None),
                "#!": unassign_tag(name, stage, None),
                "@deprecated": deprecate_tag(name),
            }[kind]
            repo.tag(f"{tag}#{counter}", commits[at])  # a counter keeps every name new
        registry = repo.read()
        assert registry.show() == show(folder)
        for name, artifact in registry.artifacts.items():
            listed = [v["version"] for v in show(folder, name=name) if v["registrations"]]
            assert listed == [v.name for v in artifact.versions]
