"""The action under act in a `--depth=1` checkout: the base is fetched (issue 8, section 6).

act runs a pull_request workflow on this host (`-P ubuntu-latest=-self-hosted`) in a real
`git clone --depth=1` of the pull request's branch (tests/test_shallow.py's origin: history on
main and on the branch, metrics in a DVC-cached output). act copies the clone, shallow history
and all, as the job's workspace, where actions/checkout would have made the same one commit.
The clone has two remotes: `origin`, the file URL the action fetches from, and `github`, the
https URL act names the repository after (`act --remote-name github`). The action uses the
test's own Python (`install: "false"`, the venv's bin first on PATH) and the local GitHub API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from test_action_e2e import (
    ACTION_REF,
    act_command,
    act_environment,
    action_folder,
    find_act,
    pull_request_event,
    run_bounded,
)
from test_shallow import Origin, head_clone

from conftest import git
from github_fake import FakeGitHub
from github_fake.plugin import fail_on_rejections
from github_fake.state import OWNER, PR_NUMBER, REPO

pytestmark = pytest.mark.slow


WORKFLOW = f"""\
name: mlops
on: pull_request
permissions:
  contents: read
  pull-requests: write
jobs:
  mlops:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0
      - name: Record the checkout the action starts from
        run: |
          mkdir -p "$E2E_KEEP"
          git rev-parse --is-shallow-repository > "$E2E_KEEP/shallow"
          git rev-list --count HEAD > "$E2E_KEEP/commits"
          git for-each-ref --format='%(refname)' refs/remotes/origin > "$E2E_KEEP/remote-refs"
      - id: mlops
        uses: {ACTION_REF}
        with:
          install: "false"
      - name: Keep what the action produced
        if: always()
        env:
          OUTCOME: ${{{{ steps.mlops.outcome }}}}
        run: |
          mkdir -p "$E2E_KEEP"
          printf '%s' "$OUTCOME" > "$E2E_KEEP/outcome"
          if [ -d .mlops ]; then cp -R .mlops "$E2E_KEEP/mlops"; fi
"""


@dataclass
class ActRun:
    code: int
    log: list[dict[str, Any]]
    stdout: str
    stderr: str
    kept: Path
    origin: Origin

    def messages(self) -> list[str]:
        return [str(e.get("msg", "")).strip() for e in self.log]

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.messages()[-lines:]) + "\n" + self.stderr[-2000:]


@pytest.fixture(scope="module")
def act_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActRun]:
    act = find_act()
    root = tmp_path_factory.mktemp("act-shallow")
    origin = Origin(root / "origin")
    clone = head_clone(origin, root / "clone")
    git("remote", "add", "github", f"https://github.com/{OWNER}/{REPO}.git", cwd=clone)
    workflows = clone / ".github" / "workflows"  # untracked: HEAD stays the one commit
    workflows.mkdir(parents=True)
    (workflows / "mlops.yml").write_text(WORKFLOW)
    action_dir = action_folder(root / "action", whole=False)
    event_file = root / "event.json"
    event_file.write_text(json.dumps(
        pull_request_event(head_sha=origin.head, base_sha=origin.main, head_ref="change")
    ))
    kept = root / "kept"

    with FakeGitHub() as api:
        pull = api.state.repo().issues[PR_NUMBER]
        pull.head_ref, pull.head_sha, pull.base_sha = "change", origin.head, origin.main
        api.state.repo().commits |= {origin.head, origin.main}
        command = act_command(act, event=event_file, action_dir=action_dir,
                              stubs=root / "stubs", api_url=api.url, kept=kept,
                              extra=("--remote-name", "github"))
        code, stdout, stderr = run_bounded(command, cwd=clone, env=act_environment(root / "home"))
        log = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
        yield ActRun(code, log, stdout, stderr, kept, origin)
        fail_on_rejections(api)


def test_the_job_ran_in_a_shallow_checkout_and_passed(act_run: ActRun) -> None:
    assert act_run.code == 0, act_run.tail()
    assert (act_run.kept / "outcome").read_text() == "success", act_run.tail()
    # the job's workspace started as the clone: one commit of the branch, and no main
    assert (act_run.kept / "shallow").read_text().strip() == "true"
    assert (act_run.kept / "commits").read_text().strip() == "1"
    assert (act_run.kept / "remote-refs").read_text().split() == ["refs/remotes/origin/change"]


def test_the_base_was_fetched_and_said_so(act_run: ActRun) -> None:
    fetches = [m for m in act_run.messages() if m.startswith("mlops-ci: fetching ")]
    assert fetches == [
        "mlops-ci: fetching branch main from origin into origin/main (50 commits deep): the "
        "checkout lacks the pull request's base branch ($GITHUB_BASE_REF)",
        "mlops-ci: fetching HEAD and origin/main from origin (50 commits deeper): the shallow "
        "checkout does not reach the merge-base of HEAD and origin/main",
    ], act_run.tail()


def test_the_comparison_is_with_the_merge_base(act_run: ActRun) -> None:
    report = json.loads((act_run.kept / "mlops" / "report.json").read_text())
    assert report["head"]["rev"] == act_run.origin.head
    assert (report["base"]["rev"], report["base"]["ref"]) == (act_run.origin.fork, "origin/main")
    assert [(m["base"], m["head"]) for m in report["metrics"]] == [(0.9, 0.89)]
    assert report["verdict"]["status"] == "pass"
