"""GTO's tag grammar: every form read and written, checked against GTO's own parser."""

from __future__ import annotations

import subprocess

import gto.tag as gto_tag  # DVC depends on GTO, and the test extra names it too
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mlops_ci.errors import InputError
from mlops_ci.registry_tags import (
    Action,
    RegistryTag,
    deprecate_tag,
    deregister_tag,
    next_counter,
    parse_release_tag,
    parse_tag,
    stage_tag,
    try_parse_tag,
    unassign_tag,
    version_key,
    version_tag,
)

R, D, A, U, X, C = (
    Action.REGISTER,
    Action.DEREGISTER,
    Action.ASSIGN,
    Action.UNASSIGN,
    Action.DEPRECATE,
    Action.CREATE,
)


@pytest.mark.parametrize(
    ("tag", "artifact", "action", "version", "stage", "counter"),
    [
        ("churn@v1.0.0", "churn", R, "v1.0.0", None, None),
        ("churn@v1.3.0-rc.1", "churn", R, "v1.3.0-rc.1", None, None),
        ("churn@v1.3.0-rc.1+build.7", "churn", R, "v1.3.0-rc.1+build.7", None, None),
        ("churn@v1.0.0#4", "churn", R, "v1.0.0", None, 4),
        ("churn@v1.0.0!", "churn", D, "v1.0.0", None, None),
        ("churn@v1.0.0!#5", "churn", D, "v1.0.0", None, 5),
        ("churn#prod#3", "churn", A, None, "prod", 3),
        ("churn#prod", "churn", A, None, "prod", None),  # legacy, no counter
        ("churn#prod!#4", "churn", U, None, "prod", 4),
        ("churn#prod!", "churn", U, None, "prod", None),
        ("churn@deprecated", "churn", X, None, None, None),
        ("churn@deprecated#9", "churn", X, None, None, 9),
        ("churn@created", "churn", C, None, None, None),
        ("models/nlp=sentiment@v0.1.0", "models/nlp:sentiment", R, "v0.1.0", None, None),
        ("team/Churn_2#stage/eu-1#12", "team/Churn_2", A, None, "stage/eu-1", 12),
        ("a@v0.0.0", "a", R, "v0.0.0", None, None),
        ("churn#007#010", "churn", A, None, "007", 10),
    ],
)
def test_every_form_of_the_grammar_is_read(tag, artifact, action, version, stage, counter):
    assert _fields(parse_tag(tag)) == (artifact, action, version, stage, counter)
    assert _as_gto_reads_it(tag) == _as_we_read_it(tag)


@pytest.mark.parametrize(
    "tag",
    [
        "v1.0.0",  # a bare version is no GTO tag (registry.py reads it apart)
        "churn",
        "churn@1.0.0",
        "churn@V1.0.0",
        "churn@v1.0",
        "churn@v01.0.0",
        "churn@v1.0.0-",
        "churn@v1.0.0-01",
        "churn@latest",
        "churn@v1.0.0!!",
        "churn@deprecated!",
        "churn#prod#",
        "churn#prod#x",
        "churn#prod!!#1",
        "churn#-prod#1",
        "-churn@v1.0.0",
        "churn-@v1.0.0",
        "chu rn@v1.0.0",
        "models:churn@v1.0.0",  # the folder separator is written '=' in a tag
        "churn#prod#1#2",
    ],
)
def test_names_outside_the_grammar_are_refused_with_the_forms(tag):
    assert try_parse_tag(tag) is None
    assert _as_gto_reads_it(tag) is None
    with pytest.raises(InputError, match=r"expected NAME@vX\.Y\.Z, NAME@vX\.Y\.Z!, NAME#STAGE#N"):
        parse_tag(tag)


# fragments of names, both sides of the grammar's every boundary (and a space and a newline)
TAG_PIECES = st.sampled_from(
    [
        *("churn", "a", "B9", "-", "_", "/", ".", "=", "@", "#", "!", "v", "1", "0", "2."),
        *("-rc", "+b", "deprecated", "created", "prod", "latest", ":", " ", "\n"),
    ]
)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TAG_PIECES, min_size=1, max_size=9).map("".join))
def test_reads_any_name_exactly_as_gto_does(tag):
    if tag.endswith("\n"):  # GTO's `$` lets one trailing newline through; git refuses it anyway
        assert _as_we_read_it(tag) is None
    else:
        assert _as_we_read_it(tag) == _as_gto_reads_it(tag)


NAMES = st.from_regex(r"[a-zA-Z0-9](?:[a-zA-Z0-9\-/_]{0,8}[a-zA-Z0-9])?", fullmatch=True)
FOLDERS = st.none() | st.from_regex(r"[a-zA-Z0-9\-_./]{1,8}", fullmatch=True)
VERSIONS = st.builds(
    lambda core, pre, build: f"v{'.'.join(map(str, core))}{pre}{build}",
    st.tuples(*[st.integers(0, 30)] * 3),
    st.sampled_from(["", "-rc.1", "-alpha", "-0.3.7", "-x-y.1"]),
    st.sampled_from(["", "+build.5", "+sha-1f"]),
)
COUNTERS = st.none() | st.integers(1, 10_000)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(NAMES, FOLDERS, NAMES, VERSIONS, COUNTERS, st.integers(0, 4))
def test_written_tags_read_back_in_gto_and_in_git(name, folder, stage, version, counter, form):
    artifact = f"{folder}:{name}" if folder else name
    writers = [
        lambda: (version_tag(artifact, version), R, version, None, None),
        lambda: (deregister_tag(artifact, version), D, version, None, None),
        lambda: (stage_tag(artifact, stage, counter), A, None, stage, counter),
        lambda: (unassign_tag(artifact, stage, counter), U, None, stage, counter),
        lambda: (deprecate_tag(artifact, counter), X, None, None, counter),
    ]
    try:
        tag, action, want_version, want_stage, want_counter = writers[form]()
    except InputError as refused:
        # refused only for what git refuses too
        assert "git refuses it" in str(refused)
        assume(False)
    assert _fields(parse_tag(tag)) == (artifact, action, want_version, want_stage, want_counter)
    assert _as_gto_reads_it(tag) == _as_we_read_it(tag)
    assert _git_accepts(tag), tag


@pytest.mark.parametrize(
    ("name", "folder"),
    [("a//b", None), ("a/b", "x..y"), ("a", "x/.hidden"), ("a", "x.lock/y"), ("a", "./x")],
)
def test_names_git_refuses_are_refused_before_git_sees_them(name, folder):
    artifact = f"{folder}:{name}" if folder else name
    raw = f"{folder}={name}@v1.0.0" if folder else f"{name}@v1.0.0"
    assert try_parse_tag(raw) is not None  # GTO's grammar lets it through
    assert not _git_accepts(raw)
    with pytest.raises(InputError, match="git refuses it as a tag name"):
        version_tag(artifact, "v1.0.0")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: version_tag("churn", "1.2.0"),
            r"'1\.2\.0' is not a registry version: expected vX",
        ),
        (lambda: version_tag("churn", "v1.2"), "is not a registry version"),
        (lambda: version_tag("Churn model", "v1.2.0"), "'Churn model' cannot be a registry tag"),
        (lambda: stage_tag("churn", "prod!", 1), "Stage 'prod!' cannot be a registry tag"),
        (lambda: stage_tag("churn", "prod", 0), "counter starts at 1, not 0"),
        (lambda: deprecate_tag("churn@v1", None), "cannot be a registry tag"),
    ],
)
def test_writers_refuse_what_gto_would_not_read(call, message):
    with pytest.raises(InputError, match=message):
        call()


def test_release_tags_are_a_bare_version_or_a_registration():
    single = parse_release_tag("v1.3.0")
    assert (single.artifact, single.version, single.prerelease) == (None, "v1.3.0", False)
    several = parse_release_tag("churn@v1.3.0-rc.1")
    assert (several.artifact, several.version, several.prerelease) == ("churn", "v1.3.0-rc.1", True)
    assert parse_release_tag("models=churn@v2.0.0").artifact == "models:churn"


@pytest.mark.parametrize(
    "tag", ["1.3.0", "release-1", "v1.3", "churn#prod#1", "churn@v1.0.0!", "churn@deprecated"]
)
def test_a_release_tag_that_is_not_semver_is_refused_with_the_expected_form(tag):
    with pytest.raises(InputError) as refused:
        parse_release_tag(tag)
    assert f"Tag {tag!r} is not a release tag" in str(refused.value)
    assert "expected vX.Y.Z for a repository's single model, or NAME@vX.Y.Z" in str(refused.value)


def test_versions_sort_in_semver_precedence():
    # semver.org's own example, shuffled
    ordered = ["v1.0.0-alpha", "v1.0.0-alpha.1", "v1.0.0-alpha.beta", "v1.0.0-beta"]
    ordered += ["v1.0.0-beta.2", "v1.0.0-beta.11", "v1.0.0-rc.1", "v1.0.0", "v1.0.1", "v1.10.0"]
    assert sorted(reversed(ordered), key=version_key) == ordered
    assert version_key("v1.0.0+a") == version_key("v1.0.0+b")  # build metadata has no order


@given(VERSIONS, VERSIONS)
def test_version_order_agrees_with_gto(left, right):
    from gto.versions import SemVer

    ours = (version_key(left) > version_key(right)) - (version_key(left) < version_key(right))
    # GTO sorts with `<` alone (its `>` calls two builds of one version unequal)
    theirs = (SemVer(right) < SemVer(left)) - (SemVer(left) < SemVer(right))
    assert ours == theirs


def test_next_counter_follows_every_tag_of_the_artifact():
    names = ["churn@v1.0.0", "churn#prod#3", "churn#dev!#7", "other#prod#40", "v9.0.0"]
    assert next_counter(names, "churn") == 8
    assert next_counter(names, "other") == 41
    assert next_counter(names, "new") == 1
    assert next_counter([*names, "churn@deprecated#12"], "churn") == 13


def _fields(parsed: RegistryTag) -> tuple[object, ...]:
    return (parsed.artifact, parsed.action, parsed.version, parsed.stage, parsed.counter)


def _as_we_read_it(tag: str) -> tuple[object, ...] | None:
    parsed = try_parse_tag(tag)
    if parsed is None:
        return None
    action = None if parsed.action is Action.CREATE else parsed.action.value
    return (parsed.artifact, action, parsed.version, parsed.stage, parsed.counter)


def _as_gto_reads_it(tag: str) -> tuple[object, ...] | None:
    parsed = gto_tag.parse_name(tag, raise_on_fail=False)
    if not parsed:
        return None
    action = parsed.get("action")
    return (
        parsed["name"],
        action.value if action else None,
        parsed.get("version"),
        parsed.get("stage"),
        parsed.get("counter"),
    )


def _git_accepts(tag: str) -> bool:
    proc = subprocess.run(["git", "check-ref-format", f"refs/tags/{tag}"], check=False)
    return proc.returncode == 0
