"""The deploy workflow template (templates/workflows/mlops-ci-deploy.yml): when it runs, what
it may do, and how a stage tag's parts reach `mlops-ci fetch` — its steps' own commands run
on a real tag name. The linters (test_workflow_lint.py) check it as well."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from test_example_workflows import OUR_ACTION, github_filter, load, on

from conftest import cli
from mlops_ci.action_inputs import Inputs, command_line, last_output

ROOT = Path(__file__).resolve().parents[1]

NAME = "mlops-ci-deploy.yml"


def job_steps(job: str) -> list[dict]:
    return load(NAME)["jobs"][job]["steps"]


def test_it_runs_on_stage_tags_only():
    patterns = on(load(NAME))["push"]["tags"]
    assert set(on(load(NAME))) == {"push"} and set(on(load(NAME))["push"]) == {"tags"}
    for tag in ["churn#prod#4", "churn#prod!#5", "team/churn#eu-west/prod#12",
                "models/nlp=sentiment#staging#1"]:
        assert github_filter(patterns, tag), tag
    # releases, deregistrations, deprecations, the counterless legacy form, other tags
    for tag in ["v1.2.0", "churn@v1.2.0", "churn@v1.2.0#3", "churn@v1.2.0!#4",
                "churn@deprecated", "churn@deprecated#6", "churn#prod", "release-1"]:
        assert not github_filter(patterns, tag), tag


def test_it_reads_only_and_deploys_in_the_stage_s_environment():
    workflow = load(NAME)
    assert workflow["permissions"] == {}
    assert {name: job["permissions"] for name, job in workflow["jobs"].items()} == {
        "stage": {"contents": "read"}, "deploy": {"contents": "read"}
    }
    deploy = workflow["jobs"]["deploy"]
    assert deploy["needs"] == "stage"
    assert deploy["environment"] == "${{ needs.stage.outputs.stage }}"
    assert "needs.stage.outputs.stage" in deploy["concurrency"]["group"]
    assert "needs.stage.outputs.artifact" in deploy["concurrency"]["group"]
    assert deploy["concurrency"]["cancel-in-progress"] is False  # never half a deployment


def test_the_tag_is_parsed_by_mlops_ci_and_its_parts_reach_fetch_as_arguments(tmp_path: Path):
    workflow = load(NAME)
    stage_job = workflow["jobs"]["stage"]
    (read,) = job_steps("stage")
    assert read["uses"] == OUR_ACTION and read["with"]["command"] == "check-ref"
    assert read["id"] == "tag"
    # the job's outputs are the action's, which action.yml must declare to pass them on
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    for name in ("artifact", "stage"):
        assert stage_job["outputs"][name] == f"${{{{ steps.tag.outputs.{name} }}}}"
        assert action["outputs"][name]["value"] == f"${{{{ steps.run.outputs.{name} }}}}"

    # the step's command, run as the runner would after a push of a stage tag
    outputs = tmp_path / "github_output"
    outputs.touch()
    tag = "team/churn#eu-west/prod!#7"
    done = cli("check-ref", cwd=tmp_path,
               env={"GITHUB_REF": f"refs/tags/{tag}", "GITHUB_OUTPUT": str(outputs)})
    assert done.code == 0, done.stderr
    job_outputs = {
        name: last_output(str(outputs), value.removeprefix("${{ steps.tag.outputs.")
                          .removesuffix(" }}"))
        for name, value in stage_job["outputs"].items()
    }
    assert job_outputs == {"artifact": "team/churn", "stage": "eu-west/prod"}

    (fetch,) = [s for s in job_steps("deploy") if s.get("uses") == OUR_ACTION]
    args = fetch["with"]["args"]
    for name, value in job_outputs.items():
        args = args.replace(f"${{{{ needs.stage.outputs.{name} }}}}", value)
    assert "${{" not in args
    assert command_line(Inputs(command=fetch["with"]["command"], args=args)) == [
        "fetch", "team/churn", "--stage", "eu-west/prod", "--dest", "model/"
    ]


def test_a_tag_outside_the_grammar_stops_the_first_job(tmp_path: Path):
    outputs = tmp_path / "github_output"
    outputs.touch()
    done = cli("check-ref", cwd=tmp_path,
               env={"GITHUB_REF": "refs/tags/a#b#c", "GITHUB_OUTPUT": str(outputs)})
    assert done.code == 2 and "grammar" in done.stderr
    assert outputs.read_text() == ""


def test_the_deploy_job_fetches_every_tag_and_no_credentials():
    (checkout,) = [s for s in job_steps("deploy") if s.get("uses", "").startswith("actions/")]
    assert checkout["with"] == {"fetch-depth": 0, "fetch-tags": True,
                                "persist-credentials": False}


@pytest.mark.parametrize("job", ["stage", "deploy"])
def test_values_reach_scripts_through_env_only(job: str):
    for step in job_steps(job):
        assert "${{" not in step.get("run", "")
    placeholder = job_steps("deploy")[-1]
    assert placeholder["env"] == {"MODEL_NAME": "${{ needs.stage.outputs.artifact }}",
                                  "STAGE": "${{ needs.stage.outputs.stage }}"}
