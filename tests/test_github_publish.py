"""What `mlops-ci run` publishes on GitHub Actions, against the local GitHub API.

A few tests run the real entry point in a subprocess, with the variables and the event payload
a runner gives a pull_request job; the rest call publish_run with a context read the same way.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_github_actions import commands_in, parse_output_file

from conftest import clean_env, cli
from factories import make_failing_report, make_report
from github_fake import BOT_TOKEN, CREATE_COMMENT, FORK_TOKEN, USER_TOKEN, FakeGitHub
from github_fake.runner import actions_env, load_event, pull_request_payload
from github_fake.state import PR_NUMBER
from mlops_ci.config import CommentConfig
from mlops_ci.errors import ConfigError
from mlops_ci.github.comments import comment_marker
from mlops_ci.github.context import read_context
from mlops_ci.github.errors import GitHubNotFoundError
from mlops_ci.github.publish import (
    FORKS_DOC_URL,
    RunFiles,
    annotation_file,
    open_client,
    publish_run,
)
from mlops_ci.report import Report

LIST = "GET /repos/{owner}/{repo}/issues/{issue_number}/comments"


def runner_files(env: dict[str, str]) -> tuple[dict[str, str], str]:
    """The step outputs as the runner parses them, and the job summary."""
    outputs = Path(env["GITHUB_OUTPUT"])
    summary = Path(env["GITHUB_STEP_SUMMARY"])
    return (
        parse_output_file(outputs.read_text(encoding="utf-8")) if outputs.exists() else {},
        summary.read_text(encoding="utf-8") if summary.exists() else "",
    )


def comment_warnings(stdout: str) -> list[Any]:
    return [
        c for c in commands_in(stdout)
        if c.name == "warning" and c.properties.get("title") == "mlops-ci: no pull request comment"
    ]


# --- through the command line ---


def fail_roc_auc(project: Path) -> None:
    """Raise roc_auc's floor out of reach, on the same line: the gate fails at line 15."""
    config = project / "mlops.yaml"
    text = config.read_text(encoding="utf-8")
    assert "    min: 0.95" in text
    config.write_text(text.replace("    min: 0.95", "    min: 0.9999"), encoding="utf-8")


def test_a_fork_pull_request_warns_once_and_exits_by_the_gates(
    github_api: FakeGitHub, project: Path, tmp_path: Path
) -> None:
    fail_roc_auc(project)
    env = actions_env(github_api, tmp_path, "pull_request", pull_request_payload(fork=True),
                      token=FORK_TOKEN, workspace=project.parent)

    result = cli("run", "--no-repro", cwd=project, env=env)

    assert result.code == 1, result.stderr  # the failed gate, not the refused comment
    commands = commands_in(result.stdout)
    warnings = comment_warnings(result.stdout)
    assert len(warnings) == 1
    assert "fork" in warnings[0].data and FORKS_DOC_URL in warnings[0].data
    (error,) = [c for c in commands if c.name == "error"]
    assert error.properties["file"] == "demo/mlops.yaml" and error.properties["line"] == "15"
    assert "roc_auc" in error.properties["title"]
    assert any(c.name == "add-mask" and c.data == FORK_TOKEN for c in commands)
    assert FORK_TOKEN not in result.stderr

    outputs, summary = runner_files(env)
    assert outputs["verdict"] == "fail"
    assert json.loads(outputs["failed-gates"]) == ["roc_auc"]
    assert "comment-url" not in outputs
    assert json.loads(Path(outputs["report-json"]).read_text())["verdict"]["status"] == "fail"
    assert Path(outputs["model-card"]).is_file()
    assert summary == Path(outputs["report-md"]).read_text(encoding="utf-8")
    assert summary.startswith("## Breast cancer classifier") and "| Metric |" in summary
    assert github_api.state.repo().comments(PR_NUMBER) == []
    assert [r.status for r in github_api.calls(CREATE_COMMENT)] == [403]


def test_a_pull_request_run_comments_then_updates_and_counts_its_requests(
    github_api: FakeGitHub, project: Path, tmp_path: Path
) -> None:
    env = actions_env(github_api, tmp_path, "pull_request", pull_request_payload(),
                      token=BOT_TOKEN)
    first = cli("run", "--no-repro", cwd=project, env=env)
    assert first.code == 0, first.stderr
    (comment,) = github_api.state.repo().comments(PR_NUMBER)
    outputs, _ = runner_files(env)
    assert outputs["comment-url"].endswith(f"/pull/{PR_NUMBER}#issuecomment-{comment.id}")
    assert outputs["comment-url"] in first.stderr

    Path(env["GITHUB_OUTPUT"]).unlink()
    github_api.requests.clear()
    second = cli("--debug", "run", "--no-repro", cwd=project, env=env)

    assert second.code == 0, second.stderr
    assert github_api.state.repo().comments(PR_NUMBER) == [comment]
    assert comment.user.login == "github-actions[bot]"
    assert comment.body.startswith(comment_marker("default"))
    assert "History of roc\\_auc" not in comment.body  # both runs built the same head commit
    count = re.search(r"(\d+) GitHub API requests", second.stderr)
    assert count is not None and int(count[1]) == len(github_api.requests) == 3
    assert BOT_TOKEN not in second.stderr
    assert runner_files(env)[0]["comment-url"] == outputs["comment-url"]


def test_a_rejected_token_fails_the_run_after_the_summary(
    github_api: FakeGitHub, project: Path, tmp_path: Path
) -> None:
    env = actions_env(github_api, tmp_path, "pull_request", pull_request_payload(),
                      token="ghp_revoked")
    result = cli("run", "--no-repro", cwd=project, env=env)
    assert result.code == 2
    assert "GET /user returned 401 (Bad credentials)" in result.stderr
    assert "--github-token" in result.stderr and "Traceback" not in result.stderr
    outputs, summary = runner_files(env)
    assert outputs["verdict"] == "pass" and "| Metric |" in summary


# --- publish_run ---


def write_files(tmp_path: Path, report: Report) -> RunFiles:
    files = RunFiles(tmp_path / "report.json", tmp_path / "report.md", tmp_path / "card.md")
    files.report_json.write_text(report.to_json(), encoding="utf-8")
    files.report_md.write_text("## Model report\n\nthe table\n", encoding="utf-8")
    files.model_card.write_text("# Card\n", encoding="utf-8")  # type: ignore[union-attr]
    return files


def publish(
    api: FakeGitHub,
    tmp_path: Path,
    env: dict[str, str],
    *,
    report: Report | None = None,
    token: str | None = USER_TOKEN,
    mode: Any = "update",
) -> tuple[str | None, str]:
    report = report or make_failing_report()
    stdout = io.StringIO()
    url = publish_run(
        report, ctx=read_context(env), files=write_files(tmp_path, report),
        config_path=tmp_path / "mlops.yaml", comment=CommentConfig(mode=mode),
        template_dir=None, token=token, env=env, stdout=stdout, recheck_delay=0,
    )
    return url, stdout.getvalue()


def test_outside_actions_nothing_is_published(tmp_path: Path) -> None:
    env = {"GITHUB_OUTPUT": str(tmp_path / "out"), "GITHUB_STEP_SUMMARY": str(tmp_path / "sum")}
    report = make_failing_report()
    stdout = io.StringIO()
    url = publish_run(
        report, ctx=read_context(env), files=write_files(tmp_path, report),
        config_path=tmp_path / "mlops.yaml", comment=CommentConfig(), template_dir=None,
        token=USER_TOKEN, env=env, stdout=stdout,
    )
    assert url is None and stdout.getvalue() == ""
    assert not (tmp_path / "out").exists() and not (tmp_path / "sum").exists()


def test_a_pull_request_gets_the_comment_and_its_url_as_an_output(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    env = actions_env(github_api, tmp_path, "pull_request", pull_request_payload())
    url, stdout = publish(github_api, tmp_path, env)
    (comment,) = github_api.state.repo().comments(PR_NUMBER)
    assert url is not None and url.endswith(f"#issuecomment-{comment.id}")
    outputs, summary = runner_files(env)
    assert outputs["comment-url"] == url and outputs["verdict"] == "fail"
    assert summary == "## Model report\n\nthe table\n"
    assert "[job summary](" + read_context(env).run_url + ")" not in comment.body  # not cut
    errors = [c for c in commands_in(stdout) if c.name == "error"]
    assert [c.properties["title"] for c in errors] == ["Gate failed: accuracy"]


def test_without_a_token_the_comment_is_skipped_with_a_notice(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    env = actions_env(github_api, tmp_path, "pull_request", pull_request_payload())
    url, stdout = publish(github_api, tmp_path, env, token=None)
    assert url is None and github_api.requests == []
    (notice,) = [c for c in commands_in(stdout) if c.name == "notice"]
    assert "GITHUB_TOKEN" in notice.data
    assert runner_files(env)[0]["verdict"] == "fail"


def test_mode_off_makes_no_request(github_api: FakeGitHub, tmp_path: Path) -> None:
    env = actions_env(github_api, tmp_path, "pull_request", pull_request_payload())
    url, stdout = publish(github_api, tmp_path, env, mode="off")
    assert url is None and github_api.requests == []
    assert not [c for c in commands_in(stdout) if "comment" in c.properties.get("title", "")]
    assert runner_files(env)[1] == "## Model report\n\nthe table\n"


def test_a_push_has_no_pull_request_to_comment_on(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    env = actions_env(github_api, tmp_path, "push", load_event("push.branch"))
    url, _ = publish(github_api, tmp_path, env, report=make_report())
    assert url is None and github_api.requests == []
    assert runner_files(env)[0]["verdict"] == "pass"


def test_a_wrong_pull_request_fails_after_the_summary_and_outputs(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    env = actions_env(github_api, tmp_path, "pull_request", pull_request_payload(number=999))
    with pytest.raises(GitHubNotFoundError, match="/issues/999/comments returned 404"):
        publish(github_api, tmp_path, env)
    outputs, summary = runner_files(env)
    assert outputs["verdict"] == "fail" and "comment-url" not in outputs and summary


def test_a_rate_limit_beyond_the_wait_is_a_warning(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    env = actions_env(github_api, tmp_path, "pull_request", pull_request_payload())
    github_api.inject(429, on=LIST, retry_after=3600)
    url, stdout = publish(github_api, tmp_path, env)
    assert url is None
    (warning,) = comment_warnings(stdout)
    assert "rate limit" in warning.data and "re-run the job" in warning.data
    assert runner_files(env)[0]["verdict"] == "fail"


def test_a_same_repository_token_without_permission_is_told_which(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    env = actions_env(github_api, tmp_path, "pull_request", pull_request_payload())
    _, stdout = publish(github_api, tmp_path, env, token=FORK_TOKEN)
    (warning,) = comment_warnings(stdout)
    assert "pull-requests: write" in warning.data and "fork" in warning.data


def test_annotations_name_the_config_relative_to_the_workspace(tmp_path: Path) -> None:
    report = make_report()
    repo = tmp_path / "checkout" / "models"
    repo.mkdir(parents=True)
    config = repo / "mlops.yaml"
    env = {"GITHUB_WORKSPACE": str(tmp_path / "checkout")}
    assert annotation_file(report, config, env) == "models/mlops.yaml"
    assert annotation_file(report, config, {}) == "mlops.yaml"
    assert annotation_file(report, config, {"GITHUB_WORKSPACE": str(tmp_path / "other")}) == (
        "mlops.yaml"
    )


def test_the_wait_for_github_is_configurable_from_the_environment(
    github_api: FakeGitHub, tmp_path: Path
) -> None:
    env = actions_env(github_api, tmp_path, "pull_request", pull_request_payload())
    env["MLOPS_CI_GITHUB_MAX_WAIT"] = "5"
    # GitHub asks for 30 s; with only 5 s allowed the comment gives up at once with a warning
    github_api.inject(429, on=LIST, retry_after=30)
    url, stdout = publish(github_api, tmp_path, env)
    assert url is None
    (warning,) = comment_warnings(stdout)
    assert "rate limit" in warning.data
    ctx = read_context(env)
    assert ctx is not None
    with open_client(ctx, USER_TOKEN, {**env, "MLOPS_CI_GITHUB_MAX_RETRIES": "2"}) as client:
        assert (client.max_wait, client.max_retries) == (5.0, 2)


@pytest.mark.parametrize("name,value", [
    ("MLOPS_CI_GITHUB_MAX_WAIT", "soon"),
    ("MLOPS_CI_GITHUB_MAX_WAIT", "-1"),
    ("MLOPS_CI_GITHUB_MAX_RETRIES", "2.5"),
])
def test_a_bad_wait_setting_is_a_configuration_error(
    github_api: FakeGitHub, tmp_path: Path, name: str, value: str
) -> None:
    env = actions_env(github_api, tmp_path, "pull_request", pull_request_payload())
    ctx = read_context(env)
    assert ctx is not None
    with pytest.raises(ConfigError, match=f"{name}='{re.escape(value)}' must be"):
        open_client(ctx, USER_TOKEN, {name: value})


# --- nothing from the pull request reaches the runner's log as a command ---

HOSTILE_STAGE = """\
  shout:
    cmd: python src/shout.py
    deps:
      - src/shout.py
    outs:
      - hostile.json:
          cache: false
"""
SHOUT = """\
import json, os
json.dump({"::stop-commands::pwned": 1, "##[add-mask]x": 2}, open("hostile.json", "w"))
json.dump(dict(os.environ), open("stage-env.json", "w"))
print("::error::fake")
print("  ::set-output name=x::y")
print("half\\r::warning::after a carriage return")
"""


def add_hostile_stage(project: Path) -> None:
    """A stage that prints workflow commands and writes metrics whose names are commands."""
    (project / "src" / "shout.py").write_text(SHOUT, encoding="utf-8")
    with (project / "dvc.yaml").open("a", encoding="utf-8") as dvc_yaml:
        dvc_yaml.write(HOSTILE_STAGE)
    config = project / "mlops.yaml"
    text = config.read_text(encoding="utf-8")
    text = text.replace("files: [metrics.json]", "files: [metrics.json, hostile.json]")
    text = text.replace("title: Breast cancer classifier", "title: '::warning::title'")
    text = text.replace("gates:\n", "gates:\n  - metric: '::stop-commands::pwned'\n    min: 5\n")
    config.write_text(text, encoding="utf-8")


def ours(line: str, token: str) -> bool:
    """The workflow commands mlops-ci itself prints: the mask and its annotations."""
    return line == f"::add-mask::{token}" or line.startswith(
        ("::error file=", "::warning file=", "::notice title=mlops-ci", "::warning title=mlops-ci")
    )


def test_no_untrusted_value_issues_a_workflow_command(
    github_api: FakeGitHub, project: Path, tmp_path: Path
) -> None:
    add_hostile_stage(project)
    env = actions_env(github_api, tmp_path, "pull_request", pull_request_payload(),
                      token=BOT_TOKEN, workspace=project.parent)
    result = cli("run", cwd=project, env=env)

    assert result.code == 1, result.stderr  # the hostile metric's gate fails
    assert "pwned" in result.stdout and "fake" in result.stderr  # they were printed...
    lines = re.split(r"\r\n|\r|\n", result.stdout + "\n" + result.stderr)  # as the runner reads
    commands = [line.strip() for line in lines if line.strip().startswith("::")]
    assert [c for c in commands if not ours(c, BOT_TOKEN)] == []  # ...but issue nothing
    assert [line for line in lines if "##[" in line] == []
    annotations = [c for c in commands_in(result.stdout) if c.name == "error"]
    assert [a.properties["title"] for a in annotations] == ["Gate failed: ::stop-commands::pwned"]


def test_the_token_is_masked_before_the_stages_run_and_never_given_to_them(
    github_api: FakeGitHub, project: Path, tmp_path: Path
) -> None:
    add_hostile_stage(project)
    env = actions_env(github_api, tmp_path, "pull_request", pull_request_payload(),
                      token=BOT_TOKEN)
    env.update({"GH_TOKEN": BOT_TOKEN, "INPUT_GITHUB-TOKEN": BOT_TOKEN,
                "ACTIONS_RUNTIME_TOKEN": "runtime-token-value",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "oidc-token-value",
                "ACTIONS_ID_TOKEN_REQUEST_URL": "https://oidc.example/token"})
    merged = subprocess.run(
        [sys.executable, "-m", "mlops_ci", "run"], cwd=project, env={**clean_env(), **env},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
    ).stdout  # one pipe: the order in which the runner would read the lines

    mask = merged.index(f"::add-mask::{BOT_TOKEN}\n")
    assert mask < merged.index("Running stage 'shout':"), merged
    assert merged.count("::add-mask::") == 1
    stage_env = json.loads((project / "stage-env.json").read_text(encoding="utf-8"))
    assert not [name for name, value in stage_env.items() if BOT_TOKEN in value]
    assert not {"GITHUB_TOKEN", "GH_TOKEN", "INPUT_GITHUB-TOKEN", "ACTIONS_RUNTIME_TOKEN",
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN", "ACTIONS_ID_TOKEN_REQUEST_URL"} & set(stage_env)
    # nor the runner's file commands: a stage cannot set the step's verdict or later steps' env
    assert "GITHUB_OUTPUT" in env and "GITHUB_STEP_SUMMARY" in env
    assert not {"GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH", "GITHUB_STATE",
                "GITHUB_STEP_SUMMARY"} & set(stage_env)
    assert stage_env["GITHUB_REPOSITORY"] == env["GITHUB_REPOSITORY"]  # the rest is kept


# --- a token or an API URL that cannot be right ---


@pytest.mark.parametrize(("token", "says"), [
    (f"{BOT_TOKEN}\nsecond-line-of-it", "a line break (at character"),
    (f"{BOT_TOKEN}\n", "a line break (at its end)"),
    (f"{BOT_TOKEN}\rafter-the-cr", "a carriage return"),
    (f"{BOT_TOKEN}\u00e9t\u00e9", "a non-ASCII character"),
])
def test_a_token_that_cannot_be_one_is_refused_without_showing_it(
    github_api: FakeGitHub, project: Path, tmp_path: Path, token: str, says: str
) -> None:
    env = actions_env(github_api, tmp_path, "pull_request", pull_request_payload(), token=token)
    result = cli("--debug", "run", "--no-repro", cwd=project, env=env)
    assert result.code == 2, result.stderr
    assert f"The GitHub token from GITHUB_TOKEN holds {says}" in result.stderr
    for shown in (result.stdout, result.stderr):
        assert BOT_TOKEN not in shown and "second-line" not in shown and "after-the-cr" not in shown
    assert github_api.requests == []
    assert not (project / ".mlops").exists()  # refused before anything was written


def test_an_api_url_with_credentials_is_refused_and_shown_without_them(
    github_api: FakeGitHub, project: Path, tmp_path: Path
) -> None:
    env = actions_env(github_api, tmp_path, "pull_request", pull_request_payload(),
                      token=BOT_TOKEN)
    bare = env["GITHUB_API_URL"]
    env["GITHUB_API_URL"] = bare.replace("://", "://someone:hunter2secret@")
    result = cli("run", "--no-repro", cwd=project, env=env)
    assert result.code == 2, result.stderr
    assert f"GITHUB_API_URL carries credentials (user:password@): {bare} without them" in (
        result.stderr
    )
    assert "hunter2secret" not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert github_api.requests == []
