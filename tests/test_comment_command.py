"""`mlops-ci comment`: the fork-safe second workflow, publishing an untrusted artifact.

The environment is a workflow_run job's, triggered by the pull_request run of the local GitHub
API's pull request; the artifact is a report.json and the pull request's number, and the working
directory is the base repository's checkout (real git and dvc), whose mlops.yaml holds the
trusted gates and whose last commit, the pull request's base, holds the base metrics.
"""

from __future__ import annotations

import atexit
import functools
import io
import json
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from gfm_inert import FORGED_RUNS, headings_of, hostile_report, inert_problems
from test_github_actions import parse_output_file

from conftest import cli, dvc, git
from factories import make_failing_report, make_report
from github_fake import BOT_TOKEN, FORK_TOKEN, USER_TOKEN, FakeGitHub
from github_fake.runner import actions_env, pull_request_payload, workflow_run_payload
from github_fake.state import BASE_SHA, HEAD_SHA, PR_NUMBER, RUN_ID
from mlops_ci.commands import comment as comment_module
from mlops_ci.commands.comment import comment, parse_pr_number
from mlops_ci.errors import GitHubError, InputError
from mlops_ci.github.comments import comment_marker
from mlops_ci.github.errors import GitHubPermissionError
from mlops_ci.github.history import parse_history
from mlops_ci.report import Report

OTHER_SHA = "feedface" * 5
# The gates of make_report() and make_failing_report(), as the base repository declares them.
TRUSTED_GATES = """\
  - metric: roc_auc
    min: 0.85
  - metric: accuracy
    max_drop: 0.01
  - metric: log_loss
    max: 0.4
    severity: warning
"""


# The base values of make_report() and make_failing_report(), committed on the base.
BASE_METRICS = {"accuracy": 0.8812, "roc_auc": 0.9123, "f1": 0.7702, "log_loss": 0.3121,
                "n_test": 1200}


@functools.cache
def base_repository() -> tuple[Path, str]:
    """A DVC project whose one commit holds BASE_METRICS (git-tracked), and that commit."""
    root = Path(tempfile.mkdtemp(prefix="mlops-ci-base-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    git("init", "-q", "-b", "main", cwd=root)
    dvc("init", "-q", cwd=root)
    (root / "dvc.yaml").write_text("metrics:\n  - metrics.json\n")
    (root / "metrics.json").write_text(json.dumps(BASE_METRICS))
    git("add", "-A", cwd=root)
    git("commit", "-qm", "base", cwd=root)
    return root, git("rev-parse", "HEAD", cwd=root)


@pytest.fixture(autouse=True)
def _pull_request_based_on_the_checkout(request: pytest.FixtureRequest) -> None:
    """The local API's pull request has the trusted checkout's commit as its base."""
    if "github_api" not in request.fixturenames:
        return
    api: FakeGitHub = request.getfixturevalue("github_api")
    sha = base_repository()[1]
    api.state.repo().issues[PR_NUMBER].base_sha = sha
    api.state.repo().commits.add(sha)


def trusted_checkout(
    tmp_path: Path, gates: str = TRUSTED_GATES, extra: str = "", name: str = "checkout"
) -> Path:
    """The base repository's checkout, as the workflow_run job has it: its mlops.yaml, and
    the pull request's base commit with the base metrics."""
    checkout = tmp_path / name
    if not checkout.exists():
        shutil.copytree(base_repository()[0], checkout, symlinks=True)
    (checkout / "mlops.yaml").write_text(
        "model: {name: churn-classifier, path: models/model.pkl}\n"
        "metrics: {primary: roc_auc, higher_is_better: {log_loss: false}}\n"
        f"gates:\n{gates}{extra}",
        encoding="utf-8",
    )
    return checkout


def of_the_run(report: Report, sha: str = HEAD_SHA) -> Report:
    """*report* as the triggering run wrote it: of the pull request's head commit."""
    return replace(report, head=replace(report.head, rev=sha))


def artifact(tmp_path: Path, report: Report | None = None, *, sha: str = HEAD_SHA) -> Path:
    path = tmp_path / "artifact" / "report.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(of_the_run(report or make_failing_report(), sha).to_json(), encoding="utf-8")
    return path


def workflow_run_env(api: FakeGitHub, tmp_path: Path, token: str | None = BOT_TOKEN,
                     **payload: Any) -> dict[str, str]:
    return actions_env(api, tmp_path, "workflow_run", workflow_run_payload(**payload),
                       token=token, run_id=5550001)


def run_comment(
    env: dict[str, str],
    report_path: Path,
    *,
    pr: str | None = str(PR_NUMBER),
    cwd: Path | None = None,
    key: str | None = None,
    check_run: bool = False,
) -> int:
    return comment(
        cwd=cwd or trusted_checkout(report_path.parent.parent), report_path=report_path, pr=pr,
        key=key,
        github_token=None, check_run=check_run, env=env, stdout=io.StringIO(),
        stderr=io.StringIO(), recheck_delay=0,
    )


def nothing_published(api: FakeGitHub) -> bool:
    repo = api.state.repo()
    return not repo.comments(PR_NUMBER) and not repo.statuses and not repo.check_runs


# --- the whole command ---


def test_a_valid_artifact_is_commented_and_its_verdict_set(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    env = workflow_run_env(github_api, tmp_path)
    report_path = artifact(tmp_path)
    (tmp_path / "artifact" / "pr-number").write_text(f"{PR_NUMBER}\n")

    result = cli("comment", "--report", str(report_path), "--pr",
                 (tmp_path / "artifact" / "pr-number").read_text(),
                 cwd=trusted_checkout(tmp_path), env=env)

    assert result.code == 0, result.stderr  # published; the status carries the verdict
    (posted,) = github_api.state.repo().comments(PR_NUMBER)
    assert posted.user.login == "github-actions[bot]"
    assert posted.body.startswith(comment_marker("default"))
    assert "❌ **Failed**" in posted.body
    (status,) = github_api.state.repo().statuses
    run_url = f"{github_api.origin}/octo-org/ml-model/actions/runs/5550001"
    assert (status["sha"], status["state"], status["context"]) == (
        HEAD_SHA, "failure", "mlops-ci/default"
    )
    assert status["target_url"] == run_url
    outputs = parse_output_file(Path(env["GITHUB_OUTPUT"]).read_text(encoding="utf-8"))
    assert outputs["comment-url"].endswith(f"#issuecomment-{posted.id}")
    assert outputs["verdict"] == "fail" and "report-md" not in outputs
    assert "## Model report" in Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert f"::add-mask::{BOT_TOKEN}" in result.stdout and BOT_TOKEN not in result.stderr
    assert "created the comment on pull request #7" in result.stderr


def test_a_pull_request_that_is_not_the_runs_is_refused(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    state = github_api.state
    state.add_pull(state.repo(), 8, "Someone else's work", state.users["octocat"],
                   head_ref="other", head_sha=OTHER_SHA, base_sha=BASE_SHA)
    env = workflow_run_env(github_api, tmp_path)

    result = cli("comment", "--report", str(artifact(tmp_path)), "--pr", "8", cwd=tmp_path,
                 env=env)

    assert result.code == 2
    assert "Pull request #8's head is feedfac, not 6dcb09b" in result.stderr
    assert "nothing was published" in result.stderr and "Traceback" not in result.stderr
    assert nothing_published(github_api) and not state.repo().comments(8)


def test_a_tampered_report_is_refused_before_any_request(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    report_path = artifact(tmp_path)
    data = json.loads(report_path.read_text())
    data["verdict"]["status"] = "<img src=x onerror=alert(1)>"
    report_path.write_text(json.dumps(data))
    env = workflow_run_env(github_api, tmp_path)

    result = cli("comment", "--report", str(report_path), "--pr", "7", cwd=tmp_path, env=env)

    assert result.code == 2 and str(report_path) in result.stderr
    assert github_api.requests == []


# --- the artifact is untrusted ---


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.pop("metrics"),
        lambda d: d.update(schema_version="9.0"),
        lambda d: d["metrics"].append({"name": "x"}),
        lambda d: d.update(title=["not", "text"]),
        lambda d: d.update(injected="extra"),
    ],
)
def test_a_report_that_breaks_the_schema_is_an_input_error(
    github_api: FakeGitHub, tmp_path: Path, change: Any
) -> None:
    report_path = artifact(tmp_path)
    data = json.loads(report_path.read_text())
    change(data)
    report_path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="report.json"):
        run_comment(workflow_run_env(github_api, tmp_path), report_path)
    assert github_api.requests == []


def test_a_report_that_is_not_json_is_an_input_error(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    report_path = artifact(tmp_path)
    report_path.write_text("{'not': json")
    with pytest.raises(InputError, match="not valid JSON"):
        run_comment(workflow_run_env(github_api, tmp_path), report_path)


def test_an_oversized_report_is_refused_unread(
    github_api: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(comment_module, "MAX_REPORT_BYTES", 1000)
    with pytest.raises(InputError, match="too large"):
        run_comment(workflow_run_env(github_api, tmp_path), artifact(tmp_path))


@pytest.mark.parametrize(
    "text", ["", "0", "-7", "+7", "7.0", "1e3", "seven", "7; curl evil", "7\n8", "12345678901",
             "٧"]
)
def test_a_pr_number_must_be_a_positive_whole_number(text: str) -> None:
    with pytest.raises(InputError, match="is not a pull request number"):
        parse_pr_number(text)


def test_a_pr_number_file_may_end_with_a_newline() -> None:
    assert parse_pr_number("7\n") == 7 and parse_pr_number(" 42 ") == 42


def test_an_unknown_pull_request_is_refused(github_api: FakeGitHub, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="#999 does not exist in octo-org/ml-model"):
        run_comment(workflow_run_env(github_api, tmp_path), artifact(tmp_path), pr="999")
    assert nothing_published(github_api)


def test_a_run_of_an_older_push_is_refused(github_api: FakeGitHub, tmp_path: Path) -> None:
    env = workflow_run_env(github_api, tmp_path, head_sha=OTHER_SHA)
    with pytest.raises(InputError, match="moved on since"):
        run_comment(env, artifact(tmp_path, sha=OTHER_SHA))
    assert nothing_published(github_api)


# --- where the number, the key and the token come from ---


def test_the_number_github_lists_for_the_run_is_used_without_pr(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    env = workflow_run_env(github_api, tmp_path, list_pr=True)
    assert run_comment(env, artifact(tmp_path), pr=None) == 0
    assert len(github_api.state.repo().comments(PR_NUMBER)) == 1


def test_without_any_number_it_says_to_pass_pr(github_api: FakeGitHub, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="pass --pr"):
        run_comment(workflow_run_env(github_api, tmp_path), artifact(tmp_path), pr=None)


def test_outside_actions_it_refuses(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="GITHUB_ACTIONS"):
        run_comment({}, artifact(tmp_path))


def test_without_a_token_it_refuses(github_api: FakeGitHub, tmp_path: Path) -> None:
    with pytest.raises(GitHubError, match="No GitHub token"):
        run_comment(workflow_run_env(github_api, tmp_path, token=None), artifact(tmp_path))
    assert github_api.requests == []


def test_a_read_only_token_names_the_permission_it_lacks(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    with pytest.raises(GitHubPermissionError, match="pull-requests: write"):
        run_comment(workflow_run_env(github_api, tmp_path, token=FORK_TOKEN), artifact(tmp_path))


def test_mlops_yaml_in_the_working_directory_sets_the_key_and_mode(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "mlops.yaml").write_text(
        "model: {name: m, path: model.pkl}\ncomment: {mode: 'off', key: model-a}\n"
    )
    env = workflow_run_env(github_api, tmp_path)
    assert run_comment(env, artifact(tmp_path), cwd=checkout) == 0
    repo = github_api.state.repo()
    assert repo.comments(PR_NUMBER) == []
    assert [s["context"] for s in repo.statuses] == ["mlops-ci/model-a"]


def test_key_option_wins_and_is_checked(github_api: FakeGitHub, tmp_path: Path) -> None:
    env = workflow_run_env(github_api, tmp_path)
    assert run_comment(env, artifact(tmp_path), key="model-b") == 0
    (posted,) = github_api.state.repo().comments(PR_NUMBER)
    assert posted.body.startswith(comment_marker("model-b"))
    with pytest.raises(InputError, match="comment key"):
        run_comment(env, artifact(tmp_path), key="bad key -->")


def test_a_check_run_where_the_token_may(github_api: FakeGitHub, tmp_path: Path) -> None:
    env = workflow_run_env(github_api, tmp_path)
    assert run_comment(env, artifact(tmp_path, make_report()), check_run=True) == 0
    (run,) = github_api.state.repo().check_runs
    assert run["conclusion"] == "success" and run["head_sha"] == HEAD_SHA
    assert github_api.state.repo().statuses == []


def test_a_second_artifact_updates_the_comment_with_its_history(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    run_comment(workflow_run_env(github_api, tmp_path), artifact(tmp_path))
    state = github_api.state
    state.repo().issues[PR_NUMBER].head_sha = OTHER_SHA  # a new push
    state.repo().commits.add(OTHER_SHA)
    run_comment(workflow_run_env(github_api, tmp_path, head_sha=OTHER_SHA),
                artifact(tmp_path, make_report(), sha=OTHER_SHA))
    (posted,) = state.repo().comments(PR_NUMBER)
    history = parse_history(posted.body)
    assert history is not None
    assert [(e.sha, e.verdict) for e in history.entries] == [(OTHER_SHA, "pass"),
                                                             (HEAD_SHA, "fail")]


def test_in_a_pull_request_job_the_event_gives_number_and_head(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    env = actions_env(github_api, tmp_path, "pull_request", pull_request_payload(),
                      token=USER_TOKEN)
    assert run_comment(env, artifact(tmp_path), pr=None) == 0
    assert github_api.state.repo().statuses[0]["sha"] == HEAD_SHA
    (posted,) = github_api.state.repo().comments(PR_NUMBER)  # the numbers are this run's
    assert f"[workflow run]({github_api.origin}/octo-org/ml-model/actions/runs/4242)" in posted.body


# --- the verdict is judged again with the trusted gates (issue 6, section 1) ---


def forge_pass(report: Report) -> Report:
    """The report's own verdict set to pass: what a fork writes to earn a success."""
    return replace(report, verdict=replace(report.verdict, status="pass", failed=0, warnings=0,
                                           summary="All gate rules passed."))


FORGERIES = {
    "the verdict": lambda r: forge_pass(r),
    "the gates deleted": lambda r: forge_pass(replace(r, gates=[])),
    "the gate results": lambda r: forge_pass(replace(r, gates=[
        replace(g, verdict="pass", explanation="fine") for g in r.gates
    ])),
    "the gates loosened": lambda r: forge_pass(replace(r, gates=[
        replace(g, threshold=1.0, threshold_text="1.0", verdict="pass") for g in r.gates
    ])),
}


@pytest.mark.parametrize("check_run", [False, True], ids=["status", "check-run"])
@pytest.mark.parametrize("forgery", FORGERIES, ids=list(FORGERIES))
def test_a_forged_verdict_cannot_earn_a_success(
    github_api: FakeGitHub, tmp_path: Path, forgery: str, check_run: bool
) -> None:
    forged = FORGERIES[forgery](make_failing_report())  # accuracy drops 0.034 of 0.01 allowed
    assert forged.verdict.status == "pass"

    assert run_comment(workflow_run_env(github_api, tmp_path), artifact(tmp_path, forged),
                       check_run=check_run) == 0

    repo = github_api.state.repo()
    (verdict,) = repo.check_runs if check_run else repo.statuses
    assert verdict["conclusion" if check_run else "state"] == "failure"
    (posted,) = repo.comments(PR_NUMBER)
    assert "❌ **Failed** — 1 gate failed" in posted.body
    assert "accuracy fell by 0.0340" in posted.body  # the trusted gate's own explanation


def test_the_trusted_gates_pass_what_they_pass(github_api: FakeGitHub, tmp_path: Path) -> None:
    report = replace(make_report(), gates=[], verdict=replace(make_report().verdict,
                                                              status="fail", failed=3))
    assert run_comment(workflow_run_env(github_api, tmp_path), artifact(tmp_path, report)) == 0
    (status,) = github_api.state.repo().statuses
    assert (status["state"], status["description"]) == (
        "success", "Passed — All 3 gates passed."
    )


@pytest.mark.parametrize("check_run", [False, True], ids=["status", "check-run"])
def test_without_a_trusted_mlops_yaml_no_success_is_ever_set(
    github_api: FakeGitHub, tmp_path: Path, check_run: bool
) -> None:
    empty = tmp_path / "checkout-without-config"
    empty.mkdir()
    env = workflow_run_env(github_api, tmp_path)

    assert run_comment(env, artifact(tmp_path, make_report()), cwd=empty,
                       check_run=check_run) == 0

    repo = github_api.state.repo()
    states = [s["state"] for s in repo.statuses] + [r["conclusion"] for r in repo.check_runs]
    assert states == (["failure"] if check_run else ["error"])
    if not check_run:
        assert "No trusted gates" in repo.statuses[0]["description"]
    (posted,) = repo.comments(PR_NUMBER)
    assert "**Not judged:** the base repository's checkout has no `mlops.yaml`" in posted.body
    headline = posted.body.split("### Metrics")[0]
    assert "✅" not in headline
    assert "❌ **Not judged** — No trusted gates" in headline and "0 gates failed" not in headline


@pytest.mark.parametrize(
    "metrics",
    [
        pytest.param(lambda ms: [m for m in ms if m.name != "accuracy"], id="deleted"),
        pytest.param(lambda ms: [replace(m, head="high") if m.name == "accuracy" else m
                                 for m in ms], id="not-a-number"),
    ],
)
def test_a_metric_the_trusted_gates_need_is_a_failure_that_says_so(
    github_api: FakeGitHub, tmp_path: Path, metrics: Any
) -> None:
    report = forge_pass(replace(make_report(), metrics=metrics(make_report().metrics)))

    result = cli("comment", "--report", str(artifact(tmp_path, report)), "--pr", "7",
                 cwd=trusted_checkout(tmp_path), env=workflow_run_env(github_api, tmp_path))

    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    repo = github_api.state.repo()
    (status,) = repo.statuses
    assert status["state"] == "failure" and "accuracy max_drop 0.01" in status["description"]
    (posted,) = repo.comments(PR_NUMBER)
    assert "The report has no usable value for `accuracy`" in posted.body
    assert "accuracy was not judged, so the gate fails" in posted.body


def test_a_trusted_warning_gate_stays_a_warning(github_api: FakeGitHub, tmp_path: Path) -> None:
    report = forge_pass(make_failing_report(metrics=[
        m if m.name != "accuracy" else replace(m, head=0.88) for m in make_failing_report().metrics
    ]))  # only log_loss, a warning gate, fails now
    assert run_comment(workflow_run_env(github_api, tmp_path), artifact(tmp_path, report)) == 0
    (status,) = github_api.state.repo().statuses
    assert status["state"] == "success" and status["description"].startswith(
        "Passed with warnings"
    )


# --- the report must be of the commit the triggering run built ---


@pytest.mark.parametrize("rev", [OTHER_SHA, HEAD_SHA[:7], None], ids=["other", "short", "none"])
def test_a_report_of_another_commit_is_refused_before_any_request(
    github_api: FakeGitHub, tmp_path: Path, rev: str | None
) -> None:
    report_path = artifact(tmp_path)
    data = json.loads(report_path.read_text())
    data["head"]["rev"] = rev
    report_path.write_text(json.dumps(data))

    env = workflow_run_env(github_api, tmp_path)

    result = cli("comment", "--report", str(report_path), "--pr", "7",
                 cwd=trusted_checkout(tmp_path), env=env)

    assert result.code == 2 and "Traceback" not in result.stderr
    assert "not of 6dcb09b, the pull request's head commit" in result.stderr
    assert "nothing was published" in result.stderr
    assert github_api.requests == [] and nothing_published(github_api)
    assert not Path(env["GITHUB_OUTPUT"]).exists()



# --- everything from the artifact is inert ---

TRIGGERING_RUN_URL = f"/octo-org/ml-model/actions/runs/{RUN_ID}"


def hostile_artifact_report(judged: bool) -> Report:
    """Every string hostile; with *judged*, also the metrics the trusted gates check."""
    report = hostile_report()
    if judged:
        real = [m for m in make_report().metrics if m.name in ("roc_auc", "accuracy", "log_loss")]
        report = replace(report, metrics=[*report.metrics, *real])
    return report


@pytest.mark.parametrize("judged", [True, False], ids=["gates-judged", "metrics-missing"])
@pytest.mark.parametrize("check_run", [False, True], ids=["status", "check-run"])
def test_everything_from_the_artifact_is_inert_where_it_is_published(
    github_api: FakeGitHub, tmp_path: Path, check_run: bool, judged: bool
) -> None:
    env = workflow_run_env(github_api, tmp_path)
    checkout = trusted_checkout(tmp_path)
    run_comment(env, artifact(tmp_path, make_report()), cwd=checkout)
    (benign,) = github_api.state.repo().comments(PR_NUMBER)
    headings = headings_of(benign.body)
    charted = "### Evaluation" in benign.body  # base → head of the trusted primary metric
    github_api.state.repo().statuses.clear()

    assert run_comment(env, artifact(tmp_path, hostile_artifact_report(judged)), cwd=checkout,
                       check_run=check_run) == 0

    repo = github_api.state.repo()
    (posted,) = repo.comments(PR_NUMBER)
    if not judged:  # no trusted primary metric in the report: no chart, and no heading for it
        assert charted and "```mermaid" not in posted.body
        headings -= 1
    links = {github_api.origin + TRIGGERING_RUN_URL, env_run_url(github_api)}
    assert inert_problems(posted.body, allowed_hrefs=links, headings=headings) == []
    # the job summary holds both runs' reports, the benign one first
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert inert_problems(summary, allowed_hrefs=links) == []
    if check_run:
        (run,) = repo.check_runs
        assert inert_problems(run["output"]["summary"], allowed_hrefs=links,
                              headings=headings) == []
        one_liners = [run["output"]["title"]]
    else:
        one_liners = [s["description"] for s in repo.statuses]
    for line in one_liners:  # plain text, and only trusted words in it
        assert not any(p in line for p in ("evil", "@octocat", "<", "#1", "GH-1", "`")), line
    verdict = (repo.check_runs[0]["conclusion"] if check_run else repo.statuses[0]["state"])
    assert verdict == ("success" if judged else "failure")


def env_run_url(api: FakeGitHub) -> str:
    return f"{api.origin}/octo-org/ml-model/actions/runs/5550001"


def test_no_field_of_the_artifact_plants_history(github_api: FakeGitHub, tmp_path: Path) -> None:
    """A history line in names, paths, refs and prose is text: no pushes are made up."""
    report = hostile_artifact_report(judged=True)
    env = workflow_run_env(github_api, tmp_path)
    assert run_comment(env, artifact(tmp_path, report)) == 0
    state = github_api.state
    state.repo().issues[PR_NUMBER].head_sha = OTHER_SHA  # a new push
    state.repo().commits.add(OTHER_SHA)
    assert run_comment(workflow_run_env(github_api, tmp_path, head_sha=OTHER_SHA),
                       artifact(tmp_path, report, sha=OTHER_SHA)) == 0

    (posted,) = state.repo().comments(PR_NUMBER)
    history = parse_history(posted.body)
    assert history is not None and history.metric == "roc_auc"
    assert [e.sha for e in history.entries] == [OTHER_SHA, HEAD_SHA]
    assert not any(f"`{sha[:7]}`" in posted.body for sha in FORGED_RUNS)
    assert posted.body.count("<!-- mlops-ci:") == 2  # our marker and our history line


def test_the_comment_says_who_computed_the_numbers_and_who_judged_them(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    assert run_comment(workflow_run_env(github_api, tmp_path), artifact(tmp_path)) == 0
    (posted,) = github_api.state.repo().comments(PR_NUMBER)
    top = posted.body.split("## Model report")[0]
    assert (
        "**The numbers below were computed by the pull request's own "
        f"[workflow run]({github_api.origin}{TRIGGERING_RUN_URL})**" in top
    )
    assert "judged again here with the gates of the base repository's `mlops.yaml`" in top



# --- the chart across releases: the trusted checkout's, never the artifact's ---


def forged_history(report: Report) -> Report:
    from mlops_ci.report import HistoryPoint

    return replace(report, history=[
        HistoryPoint("v9.9.9", 0.1), HistoryPoint("base", 0.2, 0.1, 0.3, "base"),
        HistoryPoint("head", 0.99, 0.98, 1.0, "head"),
    ])


def test_the_artifacts_history_is_read_again_from_the_trusted_checkout(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    checkout = trusted_checkout(tmp_path)
    git("tag", "-a", "v1.0.0", "-m", "Release v1.0.0", cwd=checkout)  # on the base commit
    report = forged_history(make_report())
    assert run_comment(workflow_run_env(github_api, tmp_path), artifact(tmp_path, report),
                       cwd=checkout) == 0
    (posted,) = github_api.state.repo().comments(PR_NUMBER)
    chart = posted.body.split("```mermaid", 1)[1].split("```", 1)[0]
    assert '["v1.0.0", "base", "head"]' in chart  # the checkout's tag, not the forged v9.9.9
    # the trusted base value at the release and the base; the head the report's own
    assert chart.rstrip().endswith("line [0.9123, 0.9123, 0.9287]")
    assert "v9.9.9" not in posted.body and "0.99" not in chart


def test_without_a_trusted_mlops_yaml_the_artifacts_history_is_not_charted(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    checkout = trusted_checkout(tmp_path)
    (checkout / "mlops.yaml").unlink()
    report = forged_history(make_report())
    assert run_comment(workflow_run_env(github_api, tmp_path), artifact(tmp_path, report),
                       cwd=checkout) == 0
    (posted,) = github_api.state.repo().comments(PR_NUMBER)
    assert "```mermaid" not in posted.body and "across releases" not in posted.body
