"""The action's inputs → one mlops-ci command line (mlops_ci/action_inputs.py), and its install
step's choices (mlops_ci/action_install.py). The act runs are in test_action*_e2e.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import clean_env, cli
from mlops_ci import proc
from mlops_ci.action_inputs import InputError, Inputs, command_line, flag, last_output
from mlops_ci.action_install import (
    ISOLATED_MARKER,
    Installer,
    InstallError,
    _defused,
    config_path,
    extras_for,
    requirement_for,
    source_digest,
    with_extras,
)
from mlops_ci.action_install import (
    main as install_main,
)

SCRIPT = Path(__file__).parents[1] / "mlops_ci" / "action_inputs.py"
MLOPS_CI = Path(sys.executable).parent / "mlops-ci"


def test_the_defaults_run_run() -> None:
    assert command_line(Inputs()) == ["run"]


def test_the_run_inputs_become_its_options() -> None:
    inputs = Inputs(base="origin/main", repro="false", pull="true", timeout="30m",
                    args="--target train --repro-flag force")
    assert command_line(inputs) == [
        "run", "--base", "origin/main", "--no-repro", "--pull", "--timeout", "30m",
        "--target", "train", "--repro-flag", "force",
    ]
    assert command_line(Inputs(pull="FALSE"))[1:] == ["--no-pull"]


def test_args_are_data_never_a_shell() -> None:
    argv = command_line(Inputs(command="comment", args="--key 'a b' $(touch x) `id` ;rm"))
    assert argv == ["comment", "--key", "a b", "$(touch", "x)", "`id`", ";rm"]


def test_unparsable_args_are_refused_by_name() -> None:
    with pytest.raises(InputError, match=r"input `args` cannot be split .*No closing quotation"):
        command_line(Inputs(args="--key 'open"))


@pytest.mark.parametrize("command", ["run; rm -rf /", "--help", "Run", "run diff"])
def test_a_command_must_be_one_name(command: str) -> None:
    with pytest.raises(InputError, match="input `command`"):
        command_line(Inputs(command=command))


def test_a_command_mlops_ci_lacks_is_passed_on_for_its_own_usage_error() -> None:
    assert command_line(Inputs(command="doctor", args="--fix")) == ["doctor", "--fix"]


def test_base_goes_to_diff_and_run_only() -> None:
    assert command_line(Inputs(command="diff", base="v1")) == ["diff", "--base", "v1"]
    with pytest.raises(InputError, match="input `base` is for the command `run`"):
        command_line(Inputs(command="gate", base="v1"))
    with pytest.raises(InputError, match="input `timeout` is for the command `run`"):
        command_line(Inputs(command="comment", timeout="1h"))


def test_booleans_are_true_or_false() -> None:
    assert flag("True", "repro") is True and flag("", "pull", allow_empty=True) is None
    with pytest.raises(InputError, match=r"input `fail-on-gate` is 'yes'; it takes"):
        flag("yes", "fail-on-gate")


def test_the_last_verdict_written_is_read_back(tmp_path: Path) -> None:
    outputs = tmp_path / "outputs"
    outputs.write_text("verdict=pass\nx<<D\nverdict=no\nD\nverdict<<E\nfail\nE\n")
    assert last_output(str(outputs), "verdict") == "fail"
    assert last_output(str(outputs), "x") == "verdict=no"
    assert last_output(str(tmp_path / "missing"), "verdict") is None


def test_inputs_come_from_the_environment() -> None:
    inputs = Inputs.from_env({"MLOPS_CI_COMMAND": "gate", "MLOPS_CI_FAIL_ON_GATE": "false"})
    assert (inputs.command, inputs.fail_on_gate, inputs.repro) == ("gate", "false", "true")


# --- the step, run as action.yml runs it: `python3 -I action_inputs.py` ---

def run_step(
    tmp_path: Path, github_output: str = "", **inputs: str
) -> subprocess.CompletedProcess[str]:
    env = {**clean_env(), **{f"MLOPS_CI_{k.upper()}": v for k, v in inputs.items()}}
    if github_output:
        env["GITHUB_OUTPUT"] = github_output
    return subprocess.run([sys.executable, "-I", str(SCRIPT)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False)


def test_a_command_that_does_not_exist_fails_with_the_clis_usage_error(tmp_path: Path) -> None:
    step = run_step(tmp_path, command="no-such-command", executable=str(MLOPS_CI))
    assert step.returncode == 2
    assert "No such command 'no-such-command'" in step.stderr
    assert "mlops-ci: running mlops-ci no-such-command" in step.stdout


def test_a_bad_input_is_an_error_annotation_and_exit_code_2(tmp_path: Path) -> None:
    step = run_step(tmp_path, args="'", executable=str(MLOPS_CI))
    assert step.returncode == 2
    assert step.stdout.startswith("::error title=mlops-ci action input::The action's input `args`")


def test_without_install_mlops_ci_must_be_on_path(tmp_path: Path) -> None:
    env = {**clean_env(), "MLOPS_CI_INSTALL": "false", "PATH": str(tmp_path)}
    step = subprocess.run([sys.executable, "-I", str(SCRIPT)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=False)
    assert step.returncode == 2
    assert "mlops-ci is not on PATH. Set the action's input install" in step.stdout


def fake_cli(tmp_path: Path, code: int, verdict: str | None) -> Path:
    """A stand-in for mlops-ci that writes *verdict* as `run` does and ends with *code* (the
    real one is run by the e2e tests)."""
    script = tmp_path / f"exits-{code}"
    write = ("printf 'verdict<<EOF_1\\n%s\\nEOF_1\\n' " + verdict + ' >> "$GITHUB_OUTPUT"\n'
             if verdict else "")
    script.write_text(f"#!/bin/sh\n{write}exit {code}\n")
    script.chmod(0o755)
    return script


@pytest.mark.parametrize(("code", "verdict", "fail_on_gate", "expected"), [
    (1, "fail", "true", 1),
    (1, "fail", "false", 0),
    (1, None, "false", 1),  # exit code 1 without a failed verdict: a crash, never forgiven
    (1, "error", "false", 1),
    (2, "error", "false", 2),
    (0, "pass", "false", 0),
])
def test_fail_on_gate_false_forgives_a_failed_gate_only(
    tmp_path: Path, code: int, verdict: str | None, fail_on_gate: str, expected: int
) -> None:
    outputs = tmp_path / "outputs"
    outputs.write_text("comment-url<<EOF_0\nhttps://x\nEOF_0\n")
    step = run_step(tmp_path, executable=str(fake_cli(tmp_path, code, verdict)),
                    fail_on_gate=fail_on_gate, github_output=str(outputs))
    assert step.returncode == expected, step.stdout
    forgiven = code == 1 and expected == 0
    assert ("\n::notice title=mlops-ci::A gate failed" in step.stdout) == forgiven


# --- the install step ---

def test_version_names_a_release() -> None:
    assert requirement_for("") is None
    assert requirement_for(" 1.2.0 ") == "mlops-ci==1.2.0"
    assert requirement_for("v0.3.0rc1") == "mlops-ci==0.3.0rc1"
    for bad in ("1.0; touch x", "latest", ">=1", "1.0 --index-url x"):
        with pytest.raises(InstallError, match="input `version`"):
            requirement_for(bad)


def test_release_fetch_and_predict_install_the_release_extra(tmp_path: Path) -> None:
    from packaging.requirements import Requirement

    assert [extras_for(c) for c in ("release", " fetch ", "predict")] == [["release"]] * 3
    assert extras_for("run") == extras_for("comment") == []
    assert extras_for("train") == extras_for(" evaluate") == ["evaluate"]
    assert with_extras("mlops-ci==1.2.0", []) == "mlops-ci==1.2.0"
    assert with_extras("mlops-ci==1.2.0", ["release"]) == "mlops-ci[release]==1.2.0"
    wheel = tmp_path / "dir with space" / "mlops_ci-0.1.0-py3-none-any.whl"
    requirement = Requirement(with_extras(str(wheel), ["release"]))  # as uv and pip read it
    assert requirement.name == "mlops-ci" and requirement.extras == {"release"}
    assert requirement.url == wheel.as_uri()


@pytest.mark.parametrize(("text", "extras"), [
    ("gates:\n  - metric: accuracy\n    max_drop: 0\n    test: mcnemar\n", ["evaluate"]),
    ("gates:\n  - metric: recall\n    min: 0.5\n    slice: {sex: f}\n", ["evaluate"]),
    ("gates:\n  - {metric: recall, min: 0.5}\n  - slice: {a: 1}\n", ["evaluate"]),
    ("evaluation:\n  slices: [sex]\n", ["evaluate"]),
    ("gates: [{metric: accuracy, max_drop: 0.01, test: mcnemar}]\n", ["evaluate"]),
    ("gates:\n- {metric: recall, min: 0.5, slice: {sex: f}}\n", ["evaluate"]),
    ("gates:\n  - metric: accuracy\n    min: 0.5\n", []),
    ("card:\n  description: the test set\n", []),
])
def test_gates_on_predictions_install_the_evaluate_extra(
    tmp_path: Path, text: str, extras: list[str]
) -> None:
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "ci.yaml").write_text(text)
    env = {"MLOPS_CI_WORKING_DIRECTORY": str(tmp_path / "project"), "MLOPS_CI_CONFIG": "ci.yaml"}
    assert config_path(env) == tmp_path / "project" / "ci.yaml"
    assert extras_for("run", config_path(env)) == extras_for("gate", config_path(env)) == extras
    assert extras_for("release", config_path(env)) == ["release", *extras]
    assert extras_for("fetch", config_path(env)) == ["release"]
    assert extras_for("run", tmp_path / "missing.yaml") == []


def test_a_pipeline_of_built_in_stages_installs_the_evaluate_extra(tmp_path: Path) -> None:
    (tmp_path / "mlops.yaml").write_text("gates:\n  - {metric: accuracy, min: 0.5}\n")
    dvc_yaml = tmp_path / "dvc.yaml"
    dvc_yaml.write_text("stages:\n  train:\n    cmd: python train.py\n")
    assert extras_for("run", tmp_path / "mlops.yaml") == []
    for cmd in ("mlops-ci  evaluate --model m.skops", "mlops-ci --debug evaluate --model m",
                "python -m mlops_ci train --data d.csv"):
        dvc_yaml.write_text(f"stages:\n  eval:\n    cmd: {cmd}\n")
        assert extras_for("run", tmp_path / "mlops.yaml") == ["evaluate"], cmd


def test_the_install_step_is_told_the_command() -> None:
    action = (Path(__file__).parents[1] / "action.yml").read_text(encoding="utf-8")
    install = action.split("- name: Install mlops-ci", 1)[1].split("- name:", 1)[0]
    assert "MLOPS_CI_COMMAND: ${{ inputs.command }}" in install
    assert "MLOPS_CI_CONFIG: ${{ inputs.config }}" in install
    assert "MLOPS_CI_WORKING_DIRECTORY: ${{ inputs.working-directory }}" in install


def test_the_source_wheel_is_kept_per_content(tmp_path: Path) -> None:
    source = tmp_path / "action"
    (source / "mlops_ci" / "__pycache__").mkdir(parents=True)
    (source / "pyproject.toml").write_text("[project]\n")
    (source / "mlops_ci" / "cli.py").write_text("a = 1\n")
    before = source_digest(source)
    (source / "mlops_ci" / "__pycache__" / "cli.pyc").write_bytes(b"\0")
    assert source_digest(source) == before
    (source / "mlops_ci" / "cli.py").write_text("a = 2\n")
    assert source_digest(source) != before


def test_the_venv_goes_under_runner_temp_and_the_cache_under_the_tool_cache(
    tmp_path: Path,
) -> None:
    installer = Installer({"RUNNER_TEMP": str(tmp_path / "t"),
                           "RUNNER_TOOL_CACHE": str(tmp_path / "c")})
    assert installer.venv == tmp_path / "t" / "mlops-ci" / "venv"
    assert installer.bin == tmp_path / "t" / "mlops-ci" / "bin"
    assert installer.uv_cache == tmp_path / "c" / "mlops-ci" / "uv-cache"
    env = installer.uv_env()
    assert env["UV_CACHE_DIR"] == str(installer.uv_cache)
    assert env["UV_LINK_MODE"] == "hardlink"  # one file system here
    assert env["UV_PYTHON_DOWNLOADS"] == "never"


def test_cache_false_keeps_nothing_in_the_tool_cache(tmp_path: Path) -> None:
    env = {"RUNNER_TEMP": str(tmp_path / "t"), "RUNNER_TOOL_CACHE": str(tmp_path / "c")}
    installer = Installer({**env, "MLOPS_CI_CACHE": "false"})
    assert installer.uv_cache.is_relative_to(tmp_path / "t")  # goes with the job
    assert Installer({**env, "MLOPS_CI_CACHE": "true"}).uv_cache.is_relative_to(tmp_path / "c")


def test_a_bad_cache_input_is_an_error_annotation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = install_main({"RUNNER_TEMP": str(tmp_path), "MLOPS_CI_CACHE": "sometimes"})
    assert code == 2
    out = capsys.readouterr().out
    assert out.startswith("::error title=mlops-ci could not be installed::")
    assert "input `cache` is 'sometimes'" in out


@pytest.mark.parametrize("output", [
    "  ::error::x\n", " \t::stop-commands::token\n", "progress\r ::error::y", "##[error]z\n",
    "::add-mask::value",
])
def test_no_line_of_an_installers_output_can_issue_a_workflow_command(output: str) -> None:
    defused = _defused(output)
    lines = re.split(r"\r\n|\r|\n", defused)  # as the runner splits them
    assert not [line for line in lines if line.lstrip().startswith("::")]
    assert "##[" not in defused
    assert defused.replace("\u200b", "") == output  # nothing else changed


def test_an_isolated_venv_never_goes_first_on_the_stages_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    monkeypatch.setattr(sys, "base_prefix", str(tmp_path / "base"))
    monkeypatch.setenv("PATH", "/usr/bin")
    bindir = str(Path(sys.executable).parent)
    assert proc.tool_env()["PATH"] == os.pathsep.join([bindir, "/usr/bin"])  # a project's venv
    (tmp_path / ISOLATED_MARKER).write_text("")
    assert proc.tool_env()["PATH"] == "/usr/bin"  # the action's own
    assert proc.stage_env()["PATH"] == "/usr/bin"
    (tmp_path / ISOLATED_MARKER).unlink()
    (tmp_path / "pipx_metadata.json").write_text("{}")
    assert proc.tool_env()["PATH"] == "/usr/bin"  # pipx's


# --- the `config` input: MLOPS_CI_CONFIG ---

def test_mlops_ci_config_names_another_file_in_the_root(project: Path) -> None:
    text = (project / "mlops.yaml").read_text()
    (project / "mlops.yaml").unlink()
    (project / "ci.yaml").write_text(text.replace("Breast cancer classifier", "Named config"))
    result = cli("diff", "--format", "json", cwd=project, env={"MLOPS_CI_CONFIG": "ci.yaml"})
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["title"] == "Named config"


@pytest.mark.parametrize("named", ["missing.yaml", "src/mlops.yaml", "../mlops.yaml", "src"])
def test_mlops_ci_config_outside_the_root_or_missing_is_refused(
    project: Path, named: str
) -> None:
    (project / "src" / "mlops.yaml").write_text("")
    result = cli("diff", cwd=project, env={"MLOPS_CI_CONFIG": named})
    assert result.code == 2, result.stdout
    assert f"MLOPS_CI_CONFIG (the action's input `config`) names '{named}'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_token_in_args_is_not_shown_in_the_log(tmp_path: Path) -> None:
    step = run_step(tmp_path, command="comment", executable=str(MLOPS_CI),
                    args="--github-token ghp_secret1 --github-token=ghp_secret2 --pr x")
    assert "ghp_secret" not in step.stdout
    assert "comment --github-token '***' '--github-token=***' --pr x" in step.stdout


def test_the_job_pip_failing_to_get_uv_means_the_pip_fallback(tmp_path: Path) -> None:
    env = {**clean_env(), "PATH": "/usr/bin:/bin", "RUNNER_TEMP": str(tmp_path / "t"),
           "RUNNER_TOOL_CACHE": str(tmp_path / "c"), "PIP_CONFIG_FILE": os.devnull,
           "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": ""}
    installer = Installer(env)
    assert installer.find_uv() is None
    assert [p.name for p in (installer.home / "uv").iterdir()] == []  # nothing half-installed


def test_a_uv_on_path_is_used_as_it_is(tmp_path: Path) -> None:
    uv = tmp_path / "bin" / "uv"
    uv.parent.mkdir()
    uv.write_text("#!/bin/sh\n")
    uv.chmod(0o755)
    installer = Installer({"PATH": str(uv.parent), "RUNNER_TEMP": str(tmp_path)})
    assert installer.find_uv() == str(uv)
