"""The local GitHub API is honest: it rejects what GitHub's description rejects, and keeps state."""

from __future__ import annotations

import http.client
import socket
import time
from typing import Any

import pytest
import requests

from github_fake import BOT_TOKEN, CREATE_COMMENT, FORK_TOKEN, USER_TOKEN, FakeGitHub
from github_fake.plugin import NetworkGuard, fail_on_rejections
from github_fake.server import iter_link_urls
from github_fake.state import HEAD_SHA, ISSUE_NUMBER, OWNER, PR_NUMBER, REPO

REPO_PATH = f"/repos/{OWNER}/{REPO}"
COMMENTS = f"{REPO_PATH}/issues/{PR_NUMBER}/comments"
HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


def call(
    api: FakeGitHub, method: str, path: str, *, token: str | None = USER_TOKEN, **kwargs: Any
) -> requests.Response:
    headers = dict(HEADERS, **kwargs.pop("headers", {}))
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, api.url + path, headers=headers, timeout=10, **kwargs)


def rejected(api: FakeGitHub) -> list[str]:
    return [r.rejection or "" for r in api.take_rejections()]


def add_comments(api: FakeGitHub, count: int, number: int = PR_NUMBER) -> None:
    repo = api.state.repo()
    for i in range(count):
        api.state.add_comment(repo, number, f"comment {i}", api.state.users["octocat"])


# -- what the OpenAPI description rejects ----------------------------------------------------


def test_an_undocumented_path_is_rejected(github_api: FakeGitHub) -> None:
    answer = call(github_api, "GET", f"{REPO_PATH}/comment")
    assert answer.status_code == 404
    assert f"{REPO_PATH}/comment" in answer.json()["message"]
    assert rejected(github_api) == [
        f"Not Found: GitHub's OpenAPI description has no path {REPO_PATH}/comment"
    ]


def test_an_undocumented_method_is_rejected(github_api: FakeGitHub) -> None:
    assert call(github_api, "DELETE", COMMENTS).status_code == 404
    assert rejected(github_api) == [
        f"Not Found: GitHub's OpenAPI description has no DELETE {COMMENTS}"
    ]


def test_a_path_parameter_of_the_wrong_type_is_rejected(github_api: FakeGitHub) -> None:
    assert call(github_api, "GET", f"{REPO_PATH}/pulls/seven").status_code == 404
    assert "pull_number='seven' is not integer" in rejected(github_api)[0]


@pytest.mark.parametrize(
    ("body", "violation"),
    [
        ({"body": "hi", "bdy": "typo"}, "'bdy' was unexpected"),
        ({"body": 5}, "5 is not of type 'string' (at body)"),
        ({}, "'body' is a required property"),
        ({"bdy": "typo"}, "'body' is a required property"),
    ],
)
def test_a_request_body_the_schema_rejects_gets_422(
    github_api: FakeGitHub, body: dict[str, Any], violation: str
) -> None:
    answer = call(github_api, "POST", COMMENTS, json=body)
    assert answer.status_code == 422
    assert violation in answer.json()["message"]
    assert answer.json()["documentation_url"].startswith("https://docs.github.com/")
    assert violation in rejected(github_api)[0]
    assert github_api.state.repo().comments(PR_NUMBER) == []


def test_an_enum_and_a_nullable_field_follow_the_description(github_api: FakeGitHub) -> None:
    path = f"{REPO_PATH}/statuses/{HEAD_SHA}"
    ok = call(github_api, "POST", path, json={"state": "success", "target_url": None})
    assert ok.status_code == 201  # target_url is `nullable: true` in the description
    bad = call(github_api, "POST", path, json={"state": "passed"})
    assert bad.status_code == 422
    assert "'passed' is not one of" in rejected(github_api)[0]


def test_a_nested_unknown_field_is_rejected(github_api: FakeGitHub) -> None:
    answer = call(
        github_api, "POST", f"{REPO_PATH}/check-runs", token=BOT_TOKEN,
        json={"name": "mlops", "head_sha": HEAD_SHA, "output": {"title": "t", "summry": "s"}},
    )
    assert answer.status_code == 422
    problems = rejected(github_api)[0]
    assert "'summry' was unexpected" in problems
    assert "'summary' is a required property (at output)" in problems


def test_malformed_json_is_rejected(github_api: FakeGitHub) -> None:
    answer = call(github_api, "POST", COMMENTS, data=b"{not json",
                  headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert rejected(github_api)[0].startswith("Problems parsing JSON")


@pytest.mark.parametrize(
    ("query", "violation"),
    [
        ({"perpage": "100"}, "Query parameter 'perpage' is not documented"),
        ({"per_page": "many"}, "Query parameter per_page='many' is not integer"),
        ({"since": "yesterday"}, "is not a 'date-time'"),
    ],
)
def test_query_parameters_follow_the_description(
    github_api: FakeGitHub, query: dict[str, str], violation: str
) -> None:
    assert call(github_api, "GET", COMMENTS, params=query).status_code == 422
    assert violation in rejected(github_api)[0]


def test_a_request_without_user_agent_is_refused_like_github_does(github_api: FakeGitHub) -> None:
    # http.client sends no User-Agent of its own (requests and urllib3 would).
    host, port = github_api.origin.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", REPO_PATH, headers=HEADERS)
    assert connection.getresponse().status == 403
    connection.close()
    assert "User-Agent" in rejected(github_api)[0]


def test_an_unknown_api_version_is_refused(github_api: FakeGitHub) -> None:
    answer = call(github_api, "GET", REPO_PATH, headers={"X-GitHub-Api-Version": "2020-01-01"})
    assert answer.status_code == 400
    assert "2020-01-01" in rejected(github_api)[0]


def test_an_unacknowledged_rejection_fails_the_test(github_api: FakeGitHub) -> None:
    call(github_api, "GET", "/nowhere")
    with pytest.raises(pytest.fail.Exception, match="GET /nowhere -> 404"):
        fail_on_rejections(github_api)
    github_api.take_rejections()
    fail_on_rejections(github_api)  # acknowledged: nothing left to fail on


def test_responses_are_checked_against_the_description_too(github_api: FakeGitHub) -> None:
    description = github_api.description
    operation = description.operation(CREATE_COMMENT)
    shaped = call(github_api, "POST", COMMENTS, json={"body": "hi"}).json()
    assert description.check_response(operation, 201, shaped) is None
    del shaped["node_id"]
    shaped["user"] = {"login": "octocat"}
    problem = description.check_response(operation, 201, shaped)
    assert problem is not None
    assert "'node_id' is a required property" in problem
    assert "'id' is a required property (at user)" in problem
    assert "does not document status 299" in (description.check_response(operation, 299, {}) or "")


# -- authentication and GitHub's own refusals (documented answers, not rejections) -----------


def test_a_bad_token_gets_githubs_401(github_api: FakeGitHub) -> None:
    answer = call(github_api, "GET", REPO_PATH, token="ghp_wrong")
    assert answer.status_code == 401
    assert answer.json() == {
        "message": "Bad credentials", "documentation_url": "https://docs.github.com/rest",
        "status": "401",
    }
    assert github_api.rejections == []


def test_the_fork_token_reads_but_cannot_write(github_api: FakeGitHub) -> None:
    assert call(github_api, "GET", COMMENTS, token=FORK_TOKEN).status_code == 200
    answer = call(github_api, "POST", COMMENTS, token=FORK_TOKEN, json={"body": "hi"})
    assert answer.status_code == 403
    assert answer.json()["message"] == "Resource not accessible by integration"


def test_writes_need_a_token(github_api: FakeGitHub) -> None:
    assert call(github_api, "GET", COMMENTS, token=None).status_code == 200  # public repository
    answer = call(github_api, "POST", COMMENTS, token=None, json={"body": "hi"})
    assert (answer.status_code, answer.json()["message"]) == (401, "Requires authentication")


def test_get_user_answers_a_person_but_not_the_actions_token(github_api: FakeGitHub) -> None:
    me = call(github_api, "GET", "/user")
    assert (me.status_code, me.json()["login"]) == (200, "octocat")
    bot = call(github_api, "GET", "/user", token=BOT_TOKEN)
    assert (bot.status_code, bot.json()["message"]) == (
        403, "Resource not accessible by integration"
    )


def test_unknown_things_are_404(github_api: FakeGitHub) -> None:
    for path in [
        f"/repos/{OWNER}/nope",
        f"{REPO_PATH}/pulls/{ISSUE_NUMBER}",  # an issue, not a pull request
        f"{REPO_PATH}/issues/999/comments",
        f"{REPO_PATH}/issues/comments/1",
        f"{REPO_PATH}/actions/runs/1",
    ]:
        answer = call(github_api, "GET", path)
        assert (path, answer.status_code, answer.json()["message"]) == (path, 404, "Not Found")
    assert github_api.rejections == []


def test_check_runs_need_an_app_token_and_a_known_commit(github_api: FakeGitHub) -> None:
    body = {"name": "mlops", "head_sha": HEAD_SHA, "conclusion": "success"}
    as_user = call(github_api, "POST", f"{REPO_PATH}/check-runs", json=body)
    assert as_user.status_code == 403
    created = call(github_api, "POST", f"{REPO_PATH}/check-runs", token=BOT_TOKEN, json=body)
    assert created.status_code == 201
    assert created.json()["status"] == "completed"
    assert created.json()["pull_requests"][0]["number"] == PR_NUMBER
    unknown = dict(body, head_sha="f" * 40)
    assert call(github_api, "POST", f"{REPO_PATH}/check-runs", token=BOT_TOKEN,
                json=unknown).status_code == 422


def test_a_comment_longer_than_githubs_limit_is_refused(github_api: FakeGitHub) -> None:
    answer = call(github_api, "POST", COMMENTS, json={"body": "x" * 65537})
    assert answer.status_code == 422
    assert "body is too long" in answer.json()["errors"][0]["message"]
    assert call(github_api, "POST", COMMENTS, json={"body": "x" * 65536}).status_code == 201


# -- state and pagination -------------------------------------------------------------------


def test_comments_are_kept_shaped_like_githubs(github_api: FakeGitHub) -> None:
    created = call(github_api, "POST", COMMENTS, json={"body": "first"})
    assert created.status_code == 201
    comment = created.json()
    assert created.headers["Location"] == comment["url"]
    assert comment["body"] == "first"
    assert comment["user"]["login"] == "octocat"
    assert comment["user"]["type"] == "User"
    assert comment["html_url"].endswith(f"/{OWNER}/{REPO}/pull/{PR_NUMBER}"
                                        f"#issuecomment-{comment['id']}")
    assert comment["issue_url"].endswith(f"{REPO_PATH}/issues/{PR_NUMBER}")

    edited = call(github_api, "PATCH", f"{REPO_PATH}/issues/comments/{comment['id']}",
                  json={"body": "second"}).json()
    assert edited["id"] == comment["id"]
    assert edited["updated_at"] > edited["created_at"] == comment["created_at"]

    listed = call(github_api, "GET", COMMENTS).json()
    assert [(c["id"], c["body"]) for c in listed] == [(comment["id"], "second")]
    fetched = call(github_api, "GET", f"{REPO_PATH}/issues/comments/{comment['id']}").json()
    assert fetched == edited


def test_comments_by_the_bot_are_signed_by_the_bot(github_api: FakeGitHub) -> None:
    comment = call(github_api, "POST", COMMENTS, token=BOT_TOKEN, json={"body": "hi"}).json()
    assert (comment["user"]["login"], comment["user"]["type"]) == ("github-actions[bot]", "Bot")


def test_pages_follow_per_page_and_link_headers(github_api: FakeGitHub) -> None:
    add_comments(github_api, 65)
    first = call(github_api, "GET", COMMENTS, params={"per_page": 30})
    assert [c["body"] for c in first.json()] == [f"comment {i}" for i in range(30)]
    links = dict(iter_link_urls(first.headers["Link"]))
    assert set(links) == {"next", "last"}
    repo_id = github_api.state.repo().id
    assert links["next"] == (
        f"{github_api.url}/repositories/{repo_id}/issues/{PR_NUMBER}/comments?per_page=30&page=2"
    )
    assert links["last"].endswith("per_page=30&page=3")

    bodies = [c["body"] for c in first.json()]
    url = links["next"]
    while url:
        page = requests.get(url, headers=dict(HEADERS, Authorization=f"Bearer {USER_TOKEN}"),
                            timeout=10)
        bodies += [c["body"] for c in page.json()]
        url = dict(iter_link_urls(page.headers.get("Link", ""))).get("next", "")
    assert bodies == [f"comment {i}" for i in range(65)]
    last_links = dict(iter_link_urls(page.headers["Link"]))
    assert set(last_links) == {"prev", "first"}


def test_per_page_is_capped_at_100_and_defaults_to_30(github_api: FakeGitHub) -> None:
    add_comments(github_api, 150)
    assert len(call(github_api, "GET", COMMENTS, params={"per_page": 500}).json()) == 100
    default = call(github_api, "GET", COMMENTS)
    assert len(default.json()) == 30
    assert dict(iter_link_urls(default.headers["Link"]))["last"].endswith("per_page=30&page=5")
    beyond = call(github_api, "GET", COMMENTS, params={"page": 9})
    assert beyond.json() == []


def test_since_filters_on_updated_at(github_api: FakeGitHub) -> None:
    add_comments(github_api, 3)
    comments = github_api.state.repo().comments(PR_NUMBER)
    answer = call(github_api, "GET", COMMENTS, params={"since": comments[1].updated_at})
    assert [c["id"] for c in answer.json()] == [comments[1].id, comments[2].id]


def test_pull_requests_of_a_commit(github_api: FakeGitHub) -> None:
    found = call(github_api, "GET", f"{REPO_PATH}/commits/{HEAD_SHA}/pulls").json()
    assert [(p["number"], p["head"]["sha"]) for p in found] == [(PR_NUMBER, HEAD_SHA)]
    assert call(github_api, "GET", f"{REPO_PATH}/commits/{'a' * 40}/pulls").json() == []


def test_every_documented_read_answers_in_githubs_shape(github_api: FakeGitHub) -> None:
    # The teardown fails the test if any answer breaks the description.
    for path in ["/user", REPO_PATH, f"{REPO_PATH}/pulls/{PR_NUMBER}",
                 f"{REPO_PATH}/actions/runs/9876543210"]:
        assert call(github_api, "GET", path).status_code == 200, path
    assert github_api.response_errors == []


def test_the_ghes_prefix(ghes_api: FakeGitHub) -> None:
    assert ghes_api.url.endswith("/api/v3")
    assert call(ghes_api, "GET", REPO_PATH).status_code == 200
    outside = requests.get(ghes_api.origin + REPO_PATH, headers=HEADERS, timeout=10)
    assert outside.status_code == 404
    assert "outside the API prefix /api/v3" in rejected(ghes_api)[0]


# -- faults ----------------------------------------------------------------------------------


def test_faults_answer_the_next_requests_then_stop(github_api: FakeGitHub) -> None:
    github_api.inject(502, times=2)
    statuses = [call(github_api, "POST", COMMENTS, json={"body": "x"}).status_code
                for _ in range(3)]
    assert statuses == [502, 502, 201]
    assert [r.fault for r in github_api.calls(CREATE_COMMENT)] == ["502", "502", None]
    assert len(github_api.state.repo().comments(PR_NUMBER)) == 1


def test_a_fault_on_one_operation_leaves_the_others_alone(github_api: FakeGitHub) -> None:
    github_api.inject(500)
    assert call(github_api, "GET", COMMENTS).status_code == 200
    assert call(github_api, "POST", COMMENTS, json={"body": "x"}).status_code == 500


def test_reset_closes_the_connection_without_answer(github_api: FakeGitHub) -> None:
    github_api.inject("reset")
    with pytest.raises(requests.ConnectionError):
        call(github_api, "POST", COMMENTS, json={"body": "x"})
    assert github_api.calls(CREATE_COMMENT)[0].status is None
    assert github_api.state.repo().comments(PR_NUMBER) == []


def test_apply_then_fail_writes_and_answers_502(github_api: FakeGitHub) -> None:
    github_api.inject("apply_then_fail")
    assert call(github_api, "POST", COMMENTS, json={"body": "x"}).status_code == 502
    assert [c.body for c in github_api.state.repo().comments(PR_NUMBER)] == ["x"]


def test_rate_limit_faults_carry_githubs_headers(github_api: FakeGitHub) -> None:
    github_api.inject(429, retry_after=7)
    github_api.inject("secondary_rate_limit")
    github_api.inject("primary_rate_limit", reset_in=120)
    too_many = call(github_api, "POST", COMMENTS, json={"body": "x"})
    assert (too_many.status_code, too_many.headers["Retry-After"]) == (429, "7")
    secondary = call(github_api, "POST", COMMENTS, json={"body": "x"})
    assert secondary.status_code == 403
    assert "secondary rate limit" in secondary.json()["message"]
    assert "Retry-After" not in secondary.headers
    primary = call(github_api, "POST", COMMENTS, json={"body": "x"})
    assert primary.status_code == 403
    assert primary.headers["x-ratelimit-remaining"] == "0"
    assert int(primary.headers["x-ratelimit-reset"]) > time.time() + 60  # reset_in=120


def test_slow_answers_are_late_but_complete(github_api: FakeGitHub) -> None:
    github_api.inject("slow", on="*", seconds=0.05)
    assert call(github_api, "GET", REPO_PATH).status_code == 200
    assert github_api.calls(f"GET {'/repos/{owner}/{repo}'}")[0].fault == "slow"


def test_inject_refuses_unknown_faults_and_operations(github_api: FakeGitHub) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        github_api.inject(503)  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        github_api.inject(500, on="POST /repos/{owner}/{repo}/issues/comments")


# -- the network guard -----------------------------------------------------------------------


def test_the_network_guard_refuses_anything_but_loopback(
    github_api: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    guard = NetworkGuard()
    guard.install(monkeypatch)
    with pytest.raises(OSError, match="may not reach the network"):
        socket.create_connection(("api.github.com", 443), timeout=1)
    with socket.socket() as sock, pytest.raises(OSError, match="may not reach the network"):
        sock.connect(("192.0.2.1", 443))
    assert guard.attempts == ["resolve 'api.github.com'", "connect to 192.0.2.1:443"]
    assert call(github_api, "GET", REPO_PATH).status_code == 200  # loopback still works
