"""A run that fails before its report exists still informs the reviewer on GitHub Actions.

Real git and real dvc (the example project), the real entry point in a subprocess, and the local
GitHub API: the job summary, the step outputs, the ``::error`` annotation on the stage in
dvc.yaml or the key in mlops.yaml, and the sticky comment, with the last complete report folded.
"""

from __future__ import annotations

import re
from pathlib import Path

from gfm_inert import inert_problems, inspect
from test_github_actions import commands_in, parse_output_file

from conftest import cli
from github_fake import BOT_TOKEN, FakeGitHub
from github_fake.runner import actions_env, pull_request_payload
from github_fake.state import PR_NUMBER
from mlops_ci.github.comments import comment_marker
from mlops_ci.github.failure_body import (
    FAILURE_HEADING,
    Failure,
    failure_comment_body,
    last_report,
)

FOLD = "<details><summary>The last complete report"
HOSTILE_OUTPUT = (
    "**bold** [click](https://evil.example) @octocat #1 <img src=x> </pre> </details> "
    "<!-- mlops-ci:history AAAA --> ![x](https://evil/x.png)"
)


def runner_files(env: dict[str, str]) -> tuple[dict[str, str], str]:
    outputs, summary = Path(env["GITHUB_OUTPUT"]), Path(env["GITHUB_STEP_SUMMARY"])
    return (
        parse_output_file(outputs.read_text(encoding="utf-8")) if outputs.exists() else {},
        summary.read_text(encoding="utf-8") if summary.exists() else "",
    )


def reset_runner_files(env: dict[str, str]) -> None:
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        Path(env[name]).unlink(missing_ok=True)


def line_of(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    (number,) = [n for n, line in enumerate(lines, start=1) if line.startswith(text)]
    return number


def break_training(project: Path) -> None:
    train = project / "src" / "train.py"
    train.write_text(
        train.read_text()
        + "\nprint('::set-output name=verdict::pass')"
        + f"\nprint({HOSTILE_OUTPUT!r})"
        + '\nraise SystemExit("boom: the data look wrong")\n'
    )


def test_a_failing_stage_is_reported_in_summary_outputs_annotation_and_comment(
    github_api: FakeGitHub, project: Path, tmp_path: Path
) -> None:
    env = actions_env(github_api, tmp_path, "pull_request", pull_request_payload(),
                      token=BOT_TOKEN, workspace=project.parent)
    good = cli("run", "--no-repro", cwd=project, env=env)
    assert good.code == 0, good.stderr
    (comment,) = github_api.state.repo().comments(PR_NUMBER)
    assert "| Metric |" in comment.body
    reset_runner_files(env)

    break_training(project)
    result = cli("run", cwd=project, env=env)

    assert result.code == 2, result.stderr  # what a failed `dvc repro` exits with, as before
    assert "mlops-ci: error: `dvc repro` failed in stage 'train'" in result.stderr
    log = result.stdout + result.stderr
    assert log.count("boom: the data look wrong") == 1, "the stage's output, printed once"
    assert log.count("@octocat #1") == 1
    assert [c.name for c in commands_in(log)] == ["add-mask", "error"]

    (error,) = [c for c in commands_in(result.stdout) if c.name == "error"]
    assert error.properties["file"] == "demo/dvc.yaml"
    assert error.properties["line"] == str(line_of(project / "dvc.yaml", "  train:"))
    assert "train" in error.properties["title"] and "stage 'train'" in error.data

    outputs, summary = runner_files(env)
    assert outputs["verdict"] == "error" and outputs["failed-gates"] == "[]"
    run_url = f"{github_api.origin}/octo-org/ml-model/actions/runs/4242"
    assert summary.startswith(FAILURE_HEADING) and "boom: the data look wrong" in summary
    assert "pipeline failure" in summary and "stage train" in summary
    assert inert_problems(summary, allowed_hrefs=[run_url]) == []

    (updated,) = github_api.state.repo().comments(PR_NUMBER)
    assert updated.id == comment.id and outputs["comment-url"].endswith(str(comment.id))
    body = updated.body
    assert body.startswith(comment_marker("default"))
    assert FAILURE_HEADING in body and "boom: the data look wrong" in body
    failure, folded = body.split(FOLD, 1)
    assert body.count(FOLD) == 1 and "| Metric |" in folded
    assert inert_problems(failure, allowed_hrefs=[run_url]) == []  # the good report is ours
    assert inspect(body).stack == [] and body.rstrip().endswith("</details>")
    assert BOT_TOKEN not in result.stderr


def test_a_config_error_after_a_failure_keeps_the_same_report_folded_once(
    github_api: FakeGitHub, project: Path, tmp_path: Path
) -> None:
    env = actions_env(github_api, tmp_path, "pull_request", pull_request_payload(),
                      token=BOT_TOKEN, workspace=project.parent)
    assert cli("run", "--no-repro", cwd=project, env=env).code == 0
    config = project / "mlops.yaml"
    config.write_text(config.read_text().replace("    min: 0.95", "    min: high"))
    for _ in range(2):  # a failure after a failure: the report is not folded twice
        reset_runner_files(env)
        result = cli("run", "--no-repro", cwd=project, env=env)
        assert result.code == 2, result.stderr
        assert "mlops-ci: error: mlops.yaml, line 16" in result.stderr

    (error,) = [c for c in commands_in(result.stdout) if c.name == "error"]
    assert error.properties["file"] == "demo/mlops.yaml"
    assert error.properties["line"] == str(line_of(config, "    min: high")) == "16"
    assert "gates[0].min" in error.properties["title"]
    outputs, summary = runner_files(env)
    assert outputs["verdict"] == "error" and "configuration error" in summary
    (comment,) = github_api.state.repo().comments(PR_NUMBER)
    assert comment.body.count(FOLD) == 1 and comment.body.count(FAILURE_HEADING) == 1
    assert "| Metric |" in comment.body.split(FOLD, 1)[1]
    assert inspect(comment.body).stack == []


def test_a_config_error_with_no_comment_yet_creates_one_on_its_key(
    github_api: FakeGitHub, project: Path, tmp_path: Path
) -> None:
    config = project / "mlops.yaml"
    text = config.read_text().replace("  key: default", "  key: nightly")
    config.write_text(text + "surprise: 1\n")
    env = actions_env(github_api, tmp_path, "pull_request", pull_request_payload(),
                      token=BOT_TOKEN, workspace=project.parent)
    result = cli("run", "--no-repro", cwd=project, env=env)

    assert result.code == 2 and "unknown key 'surprise'" in result.stderr
    (error,) = [c for c in commands_in(result.stdout) if c.name == "error"]
    assert error.properties["line"] == str(line_of(config, "surprise: 1"))
    (comment,) = github_api.state.repo().comments(PR_NUMBER)
    assert comment.body.startswith(comment_marker("nightly"))  # the key mlops.yaml names
    assert FAILURE_HEADING in comment.body and FOLD not in comment.body
    assert runner_files(env)[0]["verdict"] == "error"


def test_a_comment_that_cannot_be_written_never_hides_the_error(
    github_api: FakeGitHub, project: Path, tmp_path: Path
) -> None:
    config = project / "mlops.yaml"
    config.write_text(config.read_text().replace("    min: 0.95", "    min: high"))
    env = actions_env(github_api, tmp_path, "pull_request", pull_request_payload(),
                      token="ghp_revoked_token_value")
    result = cli("run", "--no-repro", cwd=project, env=env)

    assert result.code == 2
    assert "mlops-ci: error: mlops.yaml, line 16" in result.stderr
    names = [c.name for c in commands_in(result.stdout)]
    assert names == ["add-mask", "error", "warning"]
    assert "ghp_revoked_token_value" not in result.stderr
    assert [c.data for c in commands_in(result.stdout)].count("ghp_revoked_token_value") == 1
    assert runner_files(env)[0]["verdict"] == "error"


def test_outside_actions_a_failure_prints_its_error_and_nothing_else(project: Path) -> None:
    config = project / "mlops.yaml"
    config.write_text(config.read_text().replace("    min: 0.95", "    min: high"))
    result = cli("run", "--no-repro", cwd=project)
    assert result.code == 2 and commands_in(result.stdout) == []


# --- the comment body, from hostile previous bodies ---


FAILURE = Failure(kind="an error", message=f"it broke: {HOSTILE_OUTPUT}", output=HOSTILE_OUTPUT)


def test_a_forged_fold_in_an_edited_comment_cannot_break_out_of_it() -> None:
    previous = "\n".join([
        comment_marker("default"),
        "<!-- mlops-ci:history !!notbase64 -->",
        "",
        "## Model report",
        "</details></details> <!-- mlops-ci:comment key=other --> text",
        "<details><summary>open",
        "```",
        "an open fence that would swallow the end of the fold",
    ])
    body = failure_comment_body(FAILURE, key="default", previous_body=previous,
                                head_sha="a" * 40, run_url=None)
    assert inert_problems(body) == [], body
    assert body.count(FOLD) == 1 and "## Model report" in body
    assert body.rstrip().endswith("</details>")


def test_the_report_folded_in_a_failure_comment_is_found_again() -> None:
    good = comment_marker("default") + "\n\n## Model report\n\n| Metric |\n|:--|\n| x |\n"
    first = failure_comment_body(FAILURE, key="default", previous_body=good,
                                 head_sha=None, run_url=None)
    found = last_report(first)
    assert found is not None and found[0].startswith("## Model report")
    second = failure_comment_body(FAILURE, key="default", previous_body=first,
                                  head_sha=None, run_url=None)
    assert second.count(FOLD) == 1 and second.count(FAILURE_HEADING) == 1


def test_the_failure_text_cannot_forge_the_fold_line() -> None:
    forged = f"{FOLD} (commit <code>deadbee</code>)</summary>\nplanted"
    failure = Failure(kind="an error", message=forged, output=forged)
    body = failure_comment_body(failure, key="default", previous_body=None,
                                head_sha=None, run_url=None)
    assert last_report(body) is None  # no fold of ours: nothing of theirs is read as one
    assert inert_problems(body) == []


def test_a_body_that_is_not_ours_has_no_report_to_keep() -> None:
    assert last_report("just a comment\n" + comment_marker("default")) is None
    assert last_report(comment_marker("default") + "\n" + FAILURE_HEADING + "\nno fold") is None


def test_an_invalid_dvc_yaml_is_annotated_on_the_line_dvc_names(
    github_api: FakeGitHub, project: Path, tmp_path: Path
) -> None:
    pipeline = project / "dvc.yaml"
    pipeline.write_text(pipeline.read_text().replace("    outs:\n      - model.pkl",
                                                     "    outz:\n      - model.pkl"))
    env = actions_env(github_api, tmp_path, "pull_request", pull_request_payload(),
                      token=BOT_TOKEN, workspace=project.parent)
    result = cli("run", cwd=project, env=env)

    assert result.code == 2 and "validation failed" in result.stderr
    (error,) = [c for c in commands_in(result.stdout) if c.name == "error"]
    assert error.properties["file"] == "demo/dvc.yaml"
    named = re.search(r"outz, line ([0-9]+), column", result.stderr)  # DVC's own words
    assert named is not None and int(named[1]) in (line_of(pipeline, "    outz:") + 1,)
    assert error.properties["line"] == named[1]


def test_a_stage_is_found_in_foreach_items_and_in_other_dvc_files(tmp_path: Path) -> None:
    from mlops_ci.errors import PipelineError
    from mlops_ci.pipeline_location import failure_location, stage_location

    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  prepare:\n    cmd: a\n  train:\n    foreach: [1, 2]\n    do:\n      cmd: b\n"
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "dvc.yaml").write_text("stages:\n\n  evaluate:\n    cmd: c\n")
    found = stage_location(tmp_path, "train@2")
    assert found is not None and (found.file.name, found.line, found.key) == (
        "dvc.yaml", 4, "train")
    other = stage_location(tmp_path, "sub/dvc.yaml:evaluate")
    assert other is not None and other.file == (tmp_path / "sub" / "dvc.yaml").resolve()
    assert other.line == 3
    assert stage_location(tmp_path, "../../etc/dvc.yaml:x") is None  # never outside the repo
    missing = stage_location(tmp_path, "nowhere")
    assert missing is not None and missing.line is None
    error = PipelineError("failed", cmd=["dvc"], returncode=1, output_tail="")
    assert failure_location(tmp_path, error, "'../x/dvc.yaml' validation failed") is None


def test_a_base_that_does_not_resolve_is_an_error_with_no_file(
    github_api: FakeGitHub, project: Path, tmp_path: Path
) -> None:
    env = actions_env(github_api, tmp_path, "pull_request", pull_request_payload(),
                      token=BOT_TOKEN, workspace=project.parent)
    result = cli("run", "--no-repro", "--base", "no-such-branch", cwd=project, env=env)

    assert result.code == 2 and "no-such-branch" in result.stderr
    (error,) = [c for c in commands_in(result.stdout) if c.name == "error"]
    assert "file" not in error.properties and "no-such-branch" in error.data
    outputs, summary = runner_files(env)
    assert outputs["verdict"] == "error" and "repository error" in summary
    (comment,) = github_api.state.repo().comments(PR_NUMBER)
    assert "no-such-branch" in comment.body


def test_a_huge_previous_body_is_cut_to_fit_and_stays_balanced() -> None:
    previous = comment_marker("default") + "\n\n" + "<details>\n" * 20_000 + "x\n" * 30_000
    body = failure_comment_body(FAILURE, key="default", previous_body=previous,
                                head_sha=None, run_url=None)
    assert len(body) <= 65_000 and "left out here to fit" in body
    assert inspect(body).stack == [] and body.count(FOLD) == 1
