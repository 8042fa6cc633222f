"""The runner context, read from environments built around GitHub's real example payloads.

The payloads in tests/fixtures/events/ are copied from @octokit/webhooks-examples by
scripts/slice_webhook_examples.py; expected values are read from the same payload, so the tests
check the mapping, not a transcription.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from mlops_ci.errors import InputError
from mlops_ci.github.context import RunnerContext, read_context

EVENTS = Path(__file__).parent / "fixtures" / "events"
SHA = "0123456789abcdef0123456789abcdef01234567"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    return data


def actions_env(event_name: str, event_path: Path | str, **extra: str) -> dict[str, str]:
    """The variables the runner sets, for a run in the payload's base repository."""
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": "Codertocat/Hello-World",
        "GITHUB_RUN_ID": "1234567890",
        "GITHUB_RUN_ATTEMPT": "1",
        "GITHUB_SHA": SHA,
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_WORKFLOW": "mlops",
        "GITHUB_JOB": "model",
        "GITHUB_ACTOR": "Codertocat",
        "GITHUB_STEP_SUMMARY": "_runner_file_commands/step_summary_x",
        "GITHUB_OUTPUT": "_runner_file_commands/set_output_x",
    }
    env.update(extra)
    return env


def context_for(event_name: str, payload_name: str, **extra: str) -> RunnerContext:
    ctx = read_context(actions_env(event_name, EVENTS / f"{payload_name}.json", **extra))
    assert ctx is not None
    return ctx


def write_payload(tmp_path: Path, payload: Any) -> Path:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return path


# --- outside Actions ---

@pytest.mark.parametrize("env", [{}, {"GITHUB_ACTIONS": "false"}, {"CI": "true"}])
def test_outside_actions_there_is_no_context(env: dict[str, str]) -> None:
    assert read_context(env) is None


def test_outside_actions_even_with_other_github_variables() -> None:
    env = actions_env("push", EVENTS / "push.branch.json")
    del env["GITHUB_ACTIONS"]
    assert read_context(env) is None


def test_the_fixtures_are_the_recorded_package_examples() -> None:
    manifest = json.loads((EVENTS / "_source.json").read_text(encoding="utf-8"))
    assert manifest["package"] == "@octokit/webhooks-examples"
    assert manifest["version"]
    assert sorted(manifest["fixtures"]) == sorted(
        p.name for p in EVENTS.glob("*.json") if p.name != "_source.json"
    )


# --- pull_request and pull_request_target ---

@pytest.mark.parametrize(
    ("event_name", "payload_name"),
    [
        ("pull_request", "pull_request.opened"),
        ("pull_request", "pull_request.synchronize"),
        ("pull_request_target", "pull_request_target.reopened"),
    ],
)
def test_pull_request_fields_come_from_the_payload(event_name: str, payload_name: str) -> None:
    pr = load(payload_name)["pull_request"]
    ctx = context_for(
        event_name, payload_name,
        GITHUB_HEAD_REF=pr["head"]["ref"], GITHUB_BASE_REF=pr["base"]["ref"],
    )
    assert ctx.event_name == event_name
    assert ctx.pr_number == pr["number"]
    assert ctx.pr_head_sha == pr["head"]["sha"]
    assert ctx.pr_base_sha == pr["base"]["sha"]
    assert ctx.pr_head_repo == pr["head"]["repo"]["full_name"] == "Codertocat/Hello-World"
    assert ctx.is_fork is False
    assert ctx.head_ref == pr["head"]["ref"]
    assert ctx.base_ref == pr["base"]["ref"]
    assert ctx.pr_from_workflow_run is False
    assert ctx.workflow_run_id is None


def test_the_synchronize_payload_is_a_different_example() -> None:
    # Guards the script's choice: two distinct examples, not one file twice.
    opened, synced = load("pull_request.opened"), load("pull_request.synchronize")
    assert (opened["action"], synced["action"]) == ("opened", "synchronize")
    assert "before" in synced and "after" in synced


def forked(payload: dict[str, Any], full_name: str) -> dict[str, Any]:
    """The same pull request, opened from a fork: only head.repo changes."""
    payload = copy.deepcopy(payload)
    owner, name = full_name.split("/")
    head_repo = payload["pull_request"]["head"]["repo"]
    head_repo.update(full_name=full_name, name=name, fork=True)
    head_repo["owner"]["login"] = owner
    payload["pull_request"]["head"]["label"] = f"{owner}:{payload['pull_request']['head']['ref']}"
    return payload


@pytest.mark.parametrize("event_name", ["pull_request", "pull_request_target"])
def test_a_pull_request_from_a_fork_is_detected(tmp_path: Path, event_name: str) -> None:
    path = write_payload(tmp_path, forked(load("pull_request.opened"), "forker/Hello-World"))
    ctx = read_context(actions_env(event_name, path))
    assert ctx is not None
    assert ctx.is_fork is True
    assert ctx.pr_head_repo == "forker/Hello-World"
    assert ctx.pr_number == load("pull_request.opened")["number"]


def test_repository_names_compare_without_case(tmp_path: Path) -> None:
    path = write_payload(tmp_path, forked(load("pull_request.opened"), "codertocat/hello-world"))
    ctx = read_context(actions_env("pull_request", path))
    assert ctx is not None and ctx.is_fork is False


def test_a_deleted_head_repository_counts_as_a_fork(tmp_path: Path) -> None:
    payload = load("pull_request.opened")
    payload["pull_request"]["head"]["repo"] = None
    ctx = read_context(actions_env("pull_request", write_payload(tmp_path, payload)))
    assert ctx is not None
    assert ctx.pr_head_repo is None
    assert ctx.is_fork is True


# --- push and workflow_dispatch: no pull request ---

@pytest.mark.parametrize(
    ("event_name", "payload_name"),
    [("push", "push.branch"), ("push", "push.tag"), ("workflow_dispatch", "workflow_dispatch")],
)
def test_events_without_a_pull_request(event_name: str, payload_name: str) -> None:
    ref = load(payload_name)["ref"]
    ctx = context_for(event_name, payload_name, GITHUB_REF=ref, GITHUB_HEAD_REF="")
    assert ctx.ref == ref
    assert ctx.head_ref is None and ctx.base_ref is None
    assert (ctx.pr_number, ctx.pr_head_sha, ctx.pr_base_sha, ctx.pr_head_repo) == (None,) * 4
    assert ctx.is_fork is False
    assert ctx.pr_from_workflow_run is False


def test_push_does_not_need_the_payload() -> None:
    ctx = read_context(actions_env("push", "/nonexistent/event.json"))
    assert ctx is not None and ctx.pr_number is None


# --- workflow_run: the second workflow of the fork-safe pattern ---

def run_env(payload: dict[str, Any], tmp_path: Path) -> RunnerContext:
    ctx = read_context(
        actions_env("workflow_run", write_payload(tmp_path, payload),
                    GITHUB_REPOSITORY=payload["repository"]["full_name"])
    )
    assert ctx is not None
    return ctx


def test_workflow_run_with_its_pull_request(tmp_path: Path) -> None:
    payload = load("workflow_run.completed")
    run = payload["workflow_run"]
    # The example lists a PR based in another repository (Codertocat/Hello-World) than the one
    # the run happened in; make it this repository's PR.
    run["pull_requests"][0]["base"]["repo"]["id"] = run["repository"]["id"]
    ctx = run_env(payload, tmp_path)
    assert ctx.pr_from_workflow_run is True
    assert ctx.workflow_run_id == run["id"]
    assert ctx.workflow_run_event == run["event"]
    assert ctx.pr_number == run["pull_requests"][0]["number"]
    assert ctx.pr_head_sha == run["head_sha"]
    assert ctx.pr_base_sha == run["pull_requests"][0]["base"]["sha"]
    assert ctx.pr_head_repo == run["head_repository"]["full_name"]
    assert ctx.is_fork is False


def test_workflow_run_ignores_a_pull_request_of_another_repository() -> None:
    # As shipped, the example's pull request is based in Codertocat/Hello-World, while the run
    # belongs to octo-org/octo-repo: commenting on that number here would hit the wrong PR.
    payload = load("workflow_run.completed")
    run = payload["workflow_run"]
    assert run["pull_requests"][0]["base"]["repo"]["id"] != run["repository"]["id"]
    ctx = context_for("workflow_run", "workflow_run.completed",
                      GITHUB_REPOSITORY=payload["repository"]["full_name"])
    assert ctx.pr_number is None and ctx.pr_base_sha is None
    assert ctx.pr_head_sha == run["head_sha"]
    assert ctx.pr_from_workflow_run is True


def test_workflow_run_without_pull_requests() -> None:
    payload = load("workflow_run.completed-no-pr")
    ctx = context_for("workflow_run", "workflow_run.completed-no-pr",
                      GITHUB_REPOSITORY=payload["repository"]["full_name"])
    assert ctx.pr_number is None
    assert ctx.pr_head_sha == payload["workflow_run"]["head_sha"]
    assert ctx.workflow_run_id == payload["workflow_run"]["id"]
    assert ctx.pr_from_workflow_run is True
    assert ctx.is_fork is False


def test_workflow_run_from_a_fork(tmp_path: Path) -> None:
    payload = load("workflow_run.completed-no-pr")
    payload["workflow_run"]["head_repository"]["full_name"] = "forker/octo-repo"
    ctx = run_env(payload, tmp_path)
    assert ctx.is_fork is True
    assert ctx.pr_head_repo == "forker/octo-repo"
    assert ctx.pr_number is None


# --- URLs: github.com, GitHub Enterprise Server, the run ---

def test_defaults_are_github_com() -> None:
    env = actions_env("push", EVENTS / "push.branch.json")
    ctx = read_context(env)
    assert ctx is not None
    assert ctx.server_url == "https://github.com"
    assert ctx.api_url == "https://api.github.com"
    assert ctx.run_url == "https://github.com/Codertocat/Hello-World/actions/runs/1234567890"
    assert (ctx.owner, ctx.repo) == ("Codertocat", "Hello-World")


def test_github_enterprise_server_urls() -> None:
    ctx = context_for(
        "pull_request", "pull_request.opened",
        GITHUB_SERVER_URL="https://ghe.example.com/",
        GITHUB_API_URL="https://ghe.example.com/api/v3/",
        GITHUB_RUN_ATTEMPT="3",
    )
    assert ctx.server_url == "https://ghe.example.com"
    assert ctx.api_url == "https://ghe.example.com/api/v3"
    assert ctx.run_attempt == 3
    assert ctx.run_url == (
        "https://ghe.example.com/Codertocat/Hello-World/actions/runs/1234567890/attempts/3"
    )


def test_the_first_attempt_has_no_attempt_in_its_url() -> None:
    env = actions_env("push", EVENTS / "push.branch.json")
    del env["GITHUB_RUN_ATTEMPT"]
    ctx = read_context(env)
    assert ctx is not None
    assert ctx.run_attempt == 1
    assert ctx.run_url.endswith("/actions/runs/1234567890")


def test_file_command_paths() -> None:
    ctx = context_for("push", "push.branch", GITHUB_STEP_SUMMARY="", GITHUB_OUTPUT="out.txt")
    assert ctx.step_summary_path is None
    assert ctx.output_path == Path("out.txt")
    assert (ctx.workflow, ctx.job, ctx.actor, ctx.sha) == ("mlops", "model", "Codertocat", SHA)


def test_the_context_is_frozen() -> None:
    ctx = context_for("push", "push.branch")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.pr_number = 5  # type: ignore[misc]


# --- bad environments and payloads ---

@pytest.mark.parametrize(
    "variable", ["GITHUB_REPOSITORY", "GITHUB_EVENT_NAME", "GITHUB_RUN_ID", "GITHUB_SHA"]
)
def test_a_missing_runner_variable_is_named(variable: str) -> None:
    env = actions_env("push", EVENTS / "push.branch.json")
    del env[variable]
    with pytest.raises(InputError, match=variable):
        read_context(env)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("GITHUB_REPOSITORY", "no-slash"),
        ("GITHUB_REPOSITORY", "a/b/c"),
        ("GITHUB_RUN_ID", "12a"),
        ("GITHUB_RUN_ATTEMPT", "0"),
        ("GITHUB_SHA", "abc123"),
    ],
)
def test_a_malformed_runner_variable_is_named(variable: str, value: str) -> None:
    env = actions_env("push", EVENTS / "push.branch.json", **{variable: value})
    with pytest.raises(InputError, match=variable):
        read_context(env)


def test_a_missing_payload_names_the_file_and_the_variable(tmp_path: Path) -> None:
    missing = tmp_path / "gone.json"
    with pytest.raises(InputError) as info:
        read_context(actions_env("pull_request", missing))
    assert str(missing) in str(info.value)
    assert "GITHUB_EVENT_PATH" in str(info.value)


def test_an_unset_event_path_is_named() -> None:
    with pytest.raises(InputError, match="GITHUB_EVENT_PATH is not set"):
        read_context(actions_env("pull_request", ""))


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b"[1, 2]", "not an object"),
    ],
)
def test_a_broken_payload_names_the_file(tmp_path: Path, content: bytes, says: str) -> None:
    path = tmp_path / "event.json"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        read_context(actions_env("pull_request", path))
    message = str(info.value)
    assert says in message and str(path) in message and "GITHUB_EVENT_PATH" in message


def test_an_unreadable_payload_names_the_file(tmp_path: Path) -> None:
    # A directory cannot be read as a file, whoever runs the tests (root included).
    with pytest.raises(InputError) as info:
        read_context(actions_env("workflow_run", tmp_path))
    assert str(tmp_path) in str(info.value) and "GITHUB_EVENT_PATH" in str(info.value)


_DELETE = object()


def edit(payload: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A copy of *payload* with the value at *dotted* replaced (or deleted with _DELETE)."""
    payload = copy.deepcopy(payload)
    *parents, last = dotted.split(".")
    node = payload
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return payload


@pytest.mark.parametrize(
    ("dotted", "value"),
    [
        ("pull_request.number", "2"),
        ("pull_request.number", 0),
        ("pull_request.number", -3),
        ("pull_request.number", True),
        ("pull_request.number", 2.0),
        ("pull_request.number", None),
        ("pull_request.number", _DELETE),
        ("pull_request.head.sha", "ec26c3e5"),
        ("pull_request.head.sha", "zz26c3e57ca3a959ca5aad62de7213c562f8c821"),
        ("pull_request.head.sha", 12345),
        ("pull_request.base.sha", ["f95f852bd8fca8fcc58a9a2d6c842781e32a215e"]),
        ("pull_request.head.repo.full_name", "evil\n::set-output name=verdict::pass"),
        ("pull_request.head.repo.full_name", 7),
        ("pull_request.head", "changes"),
        ("pull_request", None),
    ],
)
def test_payload_values_of_the_wrong_shape_are_refused(
    tmp_path: Path, dotted: str, value: Any
) -> None:
    path = write_payload(tmp_path, edit(load("pull_request.opened"), dotted, value))
    with pytest.raises(InputError) as info:
        read_context(actions_env("pull_request", path))
    message = str(info.value)
    assert str(path) in message and "GITHUB_EVENT_PATH" in message
    assert "\n" not in message  # untrusted text is shown escaped, never raw


@pytest.mark.parametrize(
    ("dotted", "value"),
    [
        ("workflow_run.head_sha", None),
        ("workflow_run.id", "289782451"),
        ("workflow_run.pull_requests", {"number": 2}),
        ("workflow_run.pull_requests.0.number", "2"),
        ("workflow_run.event", "pull_request\n::error::x"),
        ("workflow_run.head_repository", "octo-org/octo-repo"),
    ],
)
def test_workflow_run_values_of_the_wrong_shape_are_refused(
    tmp_path: Path, dotted: str, value: Any
) -> None:
    payload = load("workflow_run.completed")
    run = payload["workflow_run"]
    run["pull_requests"][0]["base"]["repo"]["id"] = run["repository"]["id"]
    path = write_payload(tmp_path, edit(payload, dotted, value))
    with pytest.raises(InputError, match="workflow_run"):
        read_context(actions_env("workflow_run", path))


def test_upper_case_shas_are_normalised(tmp_path: Path) -> None:
    payload = load("pull_request.opened")
    head_sha = payload["pull_request"]["head"]["sha"]
    payload["pull_request"]["head"]["sha"] = head_sha.upper()
    ctx = read_context(actions_env("pull_request", write_payload(tmp_path, payload)))
    assert ctx is not None and ctx.pr_head_sha == head_sha


@pytest.mark.parametrize("variable", ["GITHUB_API_URL", "GITHUB_SERVER_URL"])
def test_a_url_with_credentials_is_refused_and_shown_without_them(variable: str) -> None:
    env = actions_env("push", EVENTS / "push.branch.json",
                      **{variable: "https://someone:s3cret@ghe.example.com/api/v3"})
    with pytest.raises(InputError) as caught:
        read_context(env)
    message = str(caught.value)
    assert message.startswith(f"{variable} carries credentials (user:password@): ")
    assert "https://ghe.example.com/api/v3 without them" in message
    assert "s3cret" not in message and "someone" not in message


def test_a_url_that_cannot_be_parsed_is_named() -> None:
    env = actions_env("push", EVENTS / "push.branch.json", GITHUB_API_URL="https://[::1/api")
    with pytest.raises(InputError, match="GITHUB_API_URL is 'https://\\[::1/api', not a URL"):
        read_context(env)
