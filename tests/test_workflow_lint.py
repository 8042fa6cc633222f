"""Static validation of every workflow and action this repository has or `mlops-ci init` writes.

actionlint, check-jsonschema (GitHub's workflow and action schemas, vendored) and zizmor, all
offline (tests/workflow_linters.py), over: this repository's workflows (tests/e2e/,
templates/workflows/, .github/workflows/ if any), action.yml, and the workflows `mlops-ci init`
wrote into a scaffolded project, both set-ups. The last tests prove that the harness fails a
broken file with each checker.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from workflow_linters import ACTIONLINT, ROOT, above_low, actionlint, schema_errors, zizmor

from mlops_ci.scaffold import (
    DEPLOY_WORKFLOW,
    FORK_SAFE_WORKFLOWS,
    SINGLE_WORKFLOWS,
    WORKFLOWS_DIR,
    init_project,
)

REPO_WORKFLOWS = sorted(
    p.relative_to(ROOT).as_posix()
    for pattern in ("tests/e2e/*.y*ml", "templates/workflows/*.y*ml", ".github/workflows/*.y*ml",
                    "examples/**/*.y*ml")
    for p in ROOT.glob(pattern)
)
INITS = {"init": {}, "init --fork-safe": {"fork_safe": True}, "init --deploy": {"deploy": True}}
INIT_WORKFLOWS = [f"{how}: {WORKFLOWS_DIR}/{name}" for how, names in
                  [("init", SINGLE_WORKFLOWS), ("init --fork-safe", FORK_SAFE_WORKFLOWS),
                   ("init --deploy", (DEPLOY_WORKFLOW,))]
                  for name in names]
WORKFLOWS = REPO_WORKFLOWS + INIT_WORKFLOWS
ACTION = ROOT / "action.yml"


def test_the_lint_covers_the_repository_s_workflows_and_init_s() -> None:
    assert "tests/e2e/pull_request.yml" in REPO_WORKFLOWS
    ours = FORK_SAFE_WORKFLOWS + SINGLE_WORKFLOWS + (DEPLOY_WORKFLOW,)
    assert {f"templates/workflows/{n}" for n in ours} <= set(REPO_WORKFLOWS)
    assert len(INIT_WORKFLOWS) == 6


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """What `mlops-ci init` wrote, with and without --fork-safe: name → project."""
    projects = {}
    for how, options in INITS.items():
        root = tmp_path_factory.mktemp("init") / "project"
        init_project(root, **options)
        projects[how] = root
    return projects


@pytest.fixture(scope="module")
def paths(scaffolded: dict[str, Path]) -> dict[str, Path]:
    """Each workflow's id → its file."""
    found = {name: ROOT / name for name in REPO_WORKFLOWS}
    for wid in INIT_WORKFLOWS:
        how, name = wid.split(": ")
        found[wid] = scaffolded[how] / name
        assert found[wid].is_file(), wid
    return found


@pytest.fixture(scope="module")
def actionlint_findings(paths: dict[str, Path]) -> dict[Path, list[str]]:
    return actionlint(list(paths.values()))


@pytest.fixture(scope="module")
def schema_findings(paths: dict[str, Path]) -> dict[Path, list[str]]:
    return schema_errors("vendor.github-workflows", list(paths.values()))


@pytest.fixture(scope="module")
def zizmor_findings(paths: dict[str, Path]) -> dict[Path, list[tuple[str, str]]]:
    return zizmor([*paths.values(), ACTION])


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_actionlint_finds_nothing(
    workflow: str, paths: dict[str, Path], actionlint_findings: dict[Path, list[str]]
) -> None:
    assert actionlint_findings[paths[workflow]] == []


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_the_workflow_schema_accepts(
    workflow: str, paths: dict[str, Path], schema_findings: dict[Path, list[str]]
) -> None:
    assert schema_findings[paths[workflow]] == []


@pytest.mark.parametrize("workflow", WORKFLOWS)
def test_zizmor_finds_nothing_above_low(
    workflow: str, paths: dict[str, Path], zizmor_findings: dict[Path, list[tuple[str, str]]]
) -> None:
    assert above_low(zizmor_findings[paths[workflow]]) == []


def test_the_action_schema_accepts_action_yml() -> None:
    assert schema_errors("vendor.github-actions", [ACTION]) == {ACTION: []}


def test_zizmor_finds_nothing_above_low_in_action_yml(
    zizmor_findings: dict[Path, list[tuple[str, str]]],
) -> None:
    assert above_low(zizmor_findings[ACTION]) == []


def test_the_templates_are_clean_for_zizmor_s_pedantic_persona_too() -> None:
    """What users copy into their repositories: not even a code smell."""
    templates = sorted((ROOT / "templates" / "workflows").glob("*.yml"))
    assert zizmor(templates, persona="pedantic") == {p: [] for p in templates}


def test_the_actionlint_is_rhysd_s_own_module() -> None:
    """The WebAssembly build's Go build info names the upstream module, not a fork's or a
    replacement (a `=>` line), and its checksum as the Go checksum database records it."""
    wasm = ACTIONLINT / "node_modules" / "@tktco" / "node-actionlint" / "main.wasm"
    build_info = re.findall(rb"^(?:dep|=>)\t[^\n]*", wasm.read_bytes(), re.MULTILINE)
    ours = [line for line in build_info if b"actionlint" in line]
    assert ours == [
        b"dep\tgithub.com/rhysd/actionlint\tv1.7.7\t"
        b"h1:0KgkoNTrYY7vmOCs9BW2AHxLvvpoY9nEUzgBHiPUr0k="
    ]


# --- the harness fails what it should -------------------------------------------------------

BROKEN_NEEDS = """\
name: broken
on: pull_request
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    timeout-minutes: 5
    needs: [build]
    steps:
      - run: echo hello
"""

BROKEN_KEY = BROKEN_NEEDS.replace("    needs: [build]\n", "").replace(
    "      - run: echo hello\n", "      - run: echo hello\n        continue-on-eror: true\n"
)

INJECTION = BROKEN_NEEDS.replace("    needs: [build]\n", "").replace(
    "echo hello", 'echo "${{ github.event.pull_request.title }}"'
)

BROKEN_ACTION = """\
name: broken
description: a composite action without its steps
runs:
  using: composite
"""

INJECTING_ACTION = """\
name: injecting
description: a composite action that puts an input into a script
inputs:
  who:
    description: anyone
runs:
  using: composite
  steps:
    - shell: bash
      run: echo "${{ github.event.pull_request.title }}"
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_broken_workflows_differ_from_the_good_one_only_as_meant() -> None:
    assert "continue-on-eror" in BROKEN_KEY and "needs" not in BROKEN_KEY
    assert "github.event.pull_request.title" in INJECTION and "needs" not in INJECTION


def test_actionlint_fails_a_job_that_needs_a_missing_job(tmp_path: Path) -> None:
    good, bad = write(tmp_path, "good.yml", INJECTION.replace(
        '"${{ github.event.pull_request.title }}"', "hello")), write(tmp_path, "bad.yml",
                                                                     BROKEN_NEEDS)
    found = actionlint([good, bad])
    assert found[good] == []
    assert len(found[bad]) == 1 and 'needs job "build" which does not exist' in found[bad][0]


def test_the_workflow_schema_fails_an_unknown_key(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.yml", BROKEN_KEY)
    (errors,) = schema_errors("vendor.github-workflows", [bad]).values()
    assert errors and "'continue-on-eror' was unexpected" in " ".join(errors)


def test_the_action_schema_fails_a_composite_action_without_steps(tmp_path: Path) -> None:
    bad = write(tmp_path, "broken/action.yml", BROKEN_ACTION)
    (errors,) = schema_errors("vendor.github-actions", [bad]).values()
    assert "$.runs: 'steps' is a required property" in errors


@pytest.mark.parametrize(("name", "text"), [("bad.yml", INJECTION),
                                            ("injecting/action.yml", INJECTING_ACTION)])
def test_zizmor_fails_a_template_injection(tmp_path: Path, name: str, text: str) -> None:
    bad = write(tmp_path, name, text)
    found = zizmor([bad])[bad]
    assert any("template-injection" in finding for finding in above_low(found)), found


def test_a_checker_that_skips_a_file_fails(tmp_path: Path) -> None:
    """zizmor audits only what it recognises: a file it skips must not count as clean."""
    skipped = write(tmp_path, "notes.txt", "not a workflow\n")
    with pytest.raises(AssertionError):
        zizmor([skipped])
