"""The REST client against the local GitHub API, over real sockets."""

from __future__ import annotations

import io
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from github_fake import BOT_TOKEN, FORK_TOKEN, USER_TOKEN, FakeGitHub
from github_fake.state import HEAD_SHA, OWNER, PR_NUMBER, REPO
from mlops_ci import __version__
from mlops_ci.errors import ConfigError, GitHubError
from mlops_ci.github.client import ACTIONS_BOT_LOGIN, GitHubClient
from mlops_ci.github.errors import (
    GitHubAuthError,
    GitHubNotFoundError,
    GitHubPermissionError,
    GitHubRateLimitError,
    GitHubRequestError,
    GitHubUnavailableError,
    GitHubUncertainWriteError,
    GitHubValidationError,
)
from mlops_ci.github.tokens import SecretFilter, check_token, mask_secret, without_credentials

REPO_PATH = f"/repos/{OWNER}/{REPO}"
COMMENTS = f"{REPO_PATH}/issues/{PR_NUMBER}/comments"
LIST_COMMENTS = "GET /repos/{owner}/{repo}/issues/{issue_number}/comments"


class Sleeps(list[float]):
    """A `sleep` that records the waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def client(github_api: FakeGitHub, sleeps: Sleeps) -> Iterator[GitHubClient]:
    with GitHubClient(github_api.url, USER_TOKEN, timeout=10, sleep=sleeps) as made:
        yield made


def add_comments(api: FakeGitHub, count: int) -> None:
    repo = api.state.repo()
    for i in range(count):
        api.state.add_comment(repo, PR_NUMBER, f"comment {i}", api.state.users["octocat"])


# -- headers and URLs ------------------------------------------------------------------------


def test_every_request_carries_the_versioned_headers(
    github_api: FakeGitHub, client: GitHubClient
) -> None:
    client.get_json(REPO_PATH)
    client.post_json(COMMENTS, {"body": "hi"})
    assert len(github_api.requests) == 2
    for sent in github_api.requests:
        assert sent.headers["accept"] == "application/vnd.github+json"
        assert sent.headers["x-github-api-version"] == "2022-11-28"
        assert sent.headers["user-agent"] == f"mlops-ci/{__version__}"
        assert sent.headers["authorization"] == f"Bearer {USER_TOKEN}"


def test_without_a_token_no_authorization_is_sent(github_api: FakeGitHub) -> None:
    with GitHubClient(github_api.url, None, user_agent="mlops-ci-tests/1") as anonymous:
        assert anonymous.get_json(REPO_PATH)["full_name"] == f"{OWNER}/{REPO}"
    assert "authorization" not in github_api.requests[0].headers
    assert github_api.requests[0].headers["user-agent"] == "mlops-ci-tests/1"


@pytest.mark.parametrize("token", [USER_TOKEN, None], ids=["token", "no token"])
def test_a_netrc_entry_for_the_api_host_neither_replaces_nor_adds_credentials(
    github_api: FakeGitHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str | None
) -> None:
    """requests applies ~/.netrc when session.auth is unset, replacing a header set on the
    session: the token goes through session.auth, so the fake sees the Bearer token (or,
    without one, no Authorization at all), never the .netrc login."""
    from urllib.parse import urlsplit

    home = tmp_path / "home"
    home.mkdir()
    host = urlsplit(github_api.url).hostname
    (home / ".netrc").write_text(f"machine {host} login someone password netrc-secret\n")
    (home / ".netrc").chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("NETRC", raising=False)
    with GitHubClient(github_api.url, token) as made:
        made.get_json(REPO_PATH)
        assert "netrc-secret" not in repr(made._session.auth)
        if token:
            assert token not in repr(made._session.auth)
    sent = github_api.requests[-1].headers
    if token:
        assert sent["authorization"] == f"Bearer {USER_TOKEN}"
    else:
        assert "authorization" not in sent


def test_ghes_base_url_with_api_v3(ghes_api: FakeGitHub, sleeps: Sleeps) -> None:
    add_comments(ghes_api, 120)
    with GitHubClient(ghes_api.url + "/", USER_TOKEN, sleep=sleeps) as client:
        assert client.get_json(REPO_PATH)["default_branch"] == "main"
        assert len(list(client.paginate(COMMENTS))) == 120
        with pytest.raises(GitHubNotFoundError) as caught:
            client.get_json(f"/repos/{OWNER}/gone")
    assert [r.path for r in ghes_api.requests] == [
        f"/api/v3{REPO_PATH}",
        f"/api/v3{COMMENTS}",
        f"/api/v3/repositories/{ghes_api.state.repo().id}/issues/{PR_NUMBER}/comments",
        f"/api/v3/repos/{OWNER}/gone",
    ]
    assert caught.value.path == f"/repos/{OWNER}/gone"  # relative to the API URL
    assert str(caught.value).startswith(f"GitHub API GET /repos/{OWNER}/gone returned 404")


def test_a_bad_api_url_is_a_clear_error() -> None:
    with pytest.raises(GitHubError, match="GITHUB_API_URL"):
        GitHubClient("api.github.com", USER_TOKEN)


def test_the_token_is_never_sent_to_another_host(client: GitHubClient) -> None:
    with pytest.raises(GitHubError, match="does not send the token there"):
        client.request("GET", "https://elsewhere.example/repos/x/y")
    assert client.request_count == 0


# -- pagination ------------------------------------------------------------------------------


def test_paginate_follows_link_headers_over_250_items(
    github_api: FakeGitHub, client: GitHubClient
) -> None:
    add_comments(github_api, 250)
    bodies = [c["body"] for c in client.paginate(COMMENTS)]
    assert bodies == [f"comment {i}" for i in range(250)]
    pages = github_api.calls(LIST_COMMENTS)
    assert [r.query for r in pages] == [
        {"per_page": ["100"]},
        {"per_page": ["100"], "page": ["2"]},
        {"per_page": ["100"], "page": ["3"]},
    ]
    # GitHub's next links name the repository by id: the client followed them, not built them.
    repo_id = github_api.state.repo().id
    alias = f"/repositories/{repo_id}/issues/{PR_NUMBER}/comments"
    assert [r.path for r in pages[1:]] == [alias, alias]
    assert client.request_count == 3


def test_paginate_keeps_the_callers_parameters(
    github_api: FakeGitHub, client: GitHubClient
) -> None:
    add_comments(github_api, 150)
    since = github_api.state.repo().comments(PR_NUMBER)[20].updated_at
    assert len(list(client.paginate(COMMENTS, {"since": since}))) == 130
    assert all(r.query["since"] == [since] for r in github_api.calls(LIST_COMMENTS))


def test_paginate_an_empty_list(client: GitHubClient) -> None:
    assert list(client.paginate(COMMENTS)) == []


# -- retries ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "options", "wait_range"),
    [
        (500, {}, (0.0, 1.0)),
        (502, {}, (0.0, 1.0)),
        ("reset", {}, (0.0, 1.0)),
        (429, {"retry_after": 7}, (7.0, 7.0)),
        ("secondary_rate_limit", {"retry_after": 5}, (5.0, 5.0)),
        ("secondary_rate_limit", {}, (60.0, 60.0)),  # GitHub: wait at least a minute
        # until x-ratelimit-reset (whole seconds, plus one for clock skew)
        ("primary_rate_limit", {"reset_in": 30}, (25.0, 31.0)),
    ],
)
def test_a_read_is_retried_after_waiting(
    github_api: FakeGitHub,
    client: GitHubClient,
    sleeps: Sleeps,
    fault: Any,
    options: dict[str, Any],
    wait_range: tuple[float, float],
) -> None:
    add_comments(github_api, 1)
    github_api.inject(fault, on=LIST_COMMENTS, **options)
    assert [c["body"] for c in client.paginate(COMMENTS)] == ["comment 0"]
    assert [r.fault for r in github_api.calls(LIST_COMMENTS)] == [str(fault), None]
    assert client.request_count == 2
    assert len(sleeps) == 1
    assert wait_range[0] <= sleeps[0] <= wait_range[1]


def test_a_slow_answer_times_out_and_is_retried(github_api: FakeGitHub, sleeps: Sleeps) -> None:
    github_api.inject("slow", on=LIST_COMMENTS, seconds=2)
    with GitHubClient(github_api.url, USER_TOKEN, timeout=0.5, sleep=sleeps) as client:
        assert list(client.paginate(COMMENTS)) == []
        assert client.request_count == 2
    assert len(sleeps) == 1


def test_backoff_grows_and_stops_after_max_retries(
    github_api: FakeGitHub, sleeps: Sleeps
) -> None:
    github_api.inject(502, times=10, on=LIST_COMMENTS)
    client = GitHubClient(github_api.url, USER_TOKEN, max_retries=4, max_wait=1000, sleep=sleeps)
    with pytest.raises(GitHubUnavailableError) as caught:
        client.get_json(COMMENTS)
    assert client.request_count == 5
    assert len(sleeps) == 4
    assert all(0 <= wait <= 2**n for n, wait in enumerate(sleeps))  # full jitter under the cap
    message = str(caught.value)
    assert message.startswith(f"GitHub API GET {COMMENTS} failed 5 times, last with 502")
    assert caught.value.status == 502


def test_the_total_wait_is_bounded(github_api: FakeGitHub, sleeps: Sleeps) -> None:
    github_api.inject(500, times=50, on=LIST_COMMENTS)
    client = GitHubClient(github_api.url, USER_TOKEN, max_retries=50, max_wait=3, sleep=sleeps)
    with pytest.raises(GitHubUnavailableError):
        client.get_json(COMMENTS)
    assert sum(sleeps) <= 3
    assert client.waited == sum(sleeps)


@pytest.mark.parametrize(
    ("fault", "options", "said"),
    [
        (429, {"retry_after": 600}, "600 s from now"),
        ("primary_rate_limit", {"reset_in": 3600}, "resets at "),
    ],
)
def test_a_rate_limit_longer_than_max_wait_fails_at_once(
    github_api: FakeGitHub, client: GitHubClient, sleeps: Sleeps,
    fault: Any, options: dict[str, Any], said: str,
) -> None:
    github_api.inject(fault, on=LIST_COMMENTS, **options)
    with pytest.raises(GitHubRateLimitError) as caught:
        client.get_json(COMMENTS)
    assert sleeps == []
    assert client.request_count == 1
    message = str(caught.value)
    assert f"GitHub API GET {COMMENTS} hit a rate limit" in message
    assert said in message
    assert "60 s mlops-ci may wait" in message
    assert caught.value.reset_at is not None


def test_rate_limit_waits_count_against_the_budget(github_api: FakeGitHub, sleeps: Sleeps) -> None:
    github_api.inject(429, times=3, on=LIST_COMMENTS, retry_after=25)
    client = GitHubClient(github_api.url, USER_TOKEN, max_wait=60, sleep=sleeps)
    with pytest.raises(GitHubRateLimitError, match="10 s left of the 60 s"):
        client.get_json(COMMENTS)
    assert sleeps == [25, 25]


@pytest.mark.parametrize("status", [404, 422])
def test_other_client_errors_are_not_retried(
    github_api: FakeGitHub, client: GitHubClient, sleeps: Sleeps, status: int
) -> None:
    with pytest.raises(GitHubRequestError) as caught:
        if status == 404:
            client.get_json(f"{REPO_PATH}/issues/404/comments")
        else:
            client.post_json(COMMENTS, {"body": "x" * 70_000})
    assert caught.value.status == status
    assert client.request_count == 1
    assert sleeps == []


# -- writes and idempotency ------------------------------------------------------------------


@pytest.mark.parametrize("fault", [502, "reset", "apply_then_fail"])
def test_a_create_that_may_have_reached_github_is_not_repeated(
    github_api: FakeGitHub, client: GitHubClient, sleeps: Sleeps, fault: Any
) -> None:
    github_api.inject(fault)
    with pytest.raises(GitHubUncertainWriteError) as caught:
        client.post_json(COMMENTS, {"body": "sticky"})
    assert caught.value.may_have_succeeded
    assert (caught.value.method, caught.value.path) == ("POST", COMMENTS)
    assert client.request_count == 1
    assert sleeps == []
    # What the sticky-comment layer does next: look before posting again.
    existing = [c for c in client.paginate(COMMENTS) if c["body"] == "sticky"]
    assert len(existing) == (1 if fault == "apply_then_fail" else 0)
    if not existing:
        client.post_json(COMMENTS, {"body": "sticky"})
    assert [c.body for c in github_api.state.repo().comments(PR_NUMBER)] == ["sticky"]


@pytest.mark.parametrize("fault", [429, "secondary_rate_limit"])
def test_a_create_refused_by_a_rate_limit_is_retried(
    github_api: FakeGitHub, client: GitHubClient, sleeps: Sleeps, fault: Any
) -> None:
    github_api.inject(fault, retry_after=2)
    created = client.post_json(COMMENTS, {"body": "once"})
    assert created["body"] == "once"
    assert sleeps == [2]
    assert [c.body for c in github_api.state.repo().comments(PR_NUMBER)] == ["once"]


def test_an_idempotent_post_is_retried_after_a_5xx(
    github_api: FakeGitHub, client: GitHubClient
) -> None:
    status_op = "POST /repos/{owner}/{repo}/statuses/{sha}"
    github_api.inject(502, on=status_op)
    body = {"state": "success", "context": "mlops-ci", "description": "gates passed"}
    created = client.post_json(f"{REPO_PATH}/statuses/{HEAD_SHA}", body, idempotent=True)
    assert created["state"] == "success"
    assert client.request_count == 2


def test_a_patch_is_retried(github_api: FakeGitHub, client: GitHubClient) -> None:
    comment = client.post_json(COMMENTS, {"body": "v1"})
    github_api.inject("reset", on="PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}")
    edited = client.patch_json(f"{REPO_PATH}/issues/comments/{comment['id']}", {"body": "v2"})
    assert edited["body"] == "v2"


def test_a_post_is_retried_when_no_connection_was_made(sleeps: Sleeps) -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = GitHubClient(f"http://127.0.0.1:{port}", USER_TOKEN, max_retries=2, sleep=sleeps)
    with pytest.raises(GitHubUnavailableError) as caught:
        client.post_json(COMMENTS, {"body": "x"})
    assert not isinstance(caught.value, GitHubUncertainWriteError)
    assert "connection failed" in str(caught.value)
    assert client.request_count == 3


# -- clear errors ----------------------------------------------------------------------------


def test_401_says_how_to_give_a_token(github_api: FakeGitHub, sleeps: Sleeps) -> None:
    client = GitHubClient(github_api.url, "ghp_not_a_real_token", sleep=sleeps)
    with pytest.raises(GitHubAuthError) as caught:
        client.get_json(REPO_PATH)
    assert str(caught.value) == (
        f"GitHub API GET {REPO_PATH} returned 401 (Bad credentials): the token is missing or "
        "invalid: set GITHUB_TOKEN or pass --github-token. See https://docs.github.com/rest."
    )
    assert caught.value.exit_code == 2


def test_a_write_without_token(github_api: FakeGitHub, sleeps: Sleeps) -> None:
    client = GitHubClient(github_api.url, None, sleep=sleeps)
    with pytest.raises(GitHubAuthError, match="no token was given: set GITHUB_TOKEN"):
        client.post_json(COMMENTS, {"body": "x"})


def test_404_names_the_endpoint_and_the_likely_cause(client: GitHubClient) -> None:
    with pytest.raises(GitHubNotFoundError) as caught:
        client.get_json(f"/repos/{OWNER}/nope/pulls/1")
    message = str(caught.value)
    assert message.startswith(
        f"GitHub API GET /repos/{OWNER}/nope/pulls/1 returned 404 (Not Found): it does not exist"
    )
    assert "or the token cannot see it" in message
    assert "127.0.0.1" not in message


def test_allow_404_returns_none(client: GitHubClient) -> None:
    assert client.get_json(f"{REPO_PATH}/issues/comments/1", allow_404=True) is None


def test_403_on_a_fork_is_a_permission_error_naming_the_permission(
    github_api: FakeGitHub, sleeps: Sleeps
) -> None:
    client = GitHubClient(github_api.url, FORK_TOKEN, sleep=sleeps)
    with pytest.raises(GitHubPermissionError) as caught:
        client.post_json(COMMENTS, {"body": "x"})
    assert not isinstance(caught.value, GitHubNotFoundError)
    message = str(caught.value)
    assert f"POST {COMMENTS} returned 403 (Resource not accessible by integration)" in message
    assert "`permissions: pull-requests: write` (or `issues: write`)" in message
    assert "fork" in message
    assert client.request_count == 1


def test_422_includes_githubs_errors(client: GitHubClient) -> None:
    with pytest.raises(GitHubValidationError) as caught:
        client.post_json(COMMENTS, {"body": "x" * 70_000})
    assert str(caught.value).startswith(
        f"GitHub API POST {COMMENTS} returned 422 (Validation Failed): "
        "body is too long (maximum is 65536 characters)."
    )


def test_a_request_the_description_rejects_fails_loudly(
    github_api: FakeGitHub, client: GitHubClient
) -> None:
    with pytest.raises(GitHubValidationError):
        client.post_json(COMMENTS, {"bdy": "typo"})
    assert len(github_api.take_rejections()) == 1


# -- identity, counting, logging -------------------------------------------------------------


def test_get_authenticated_user(github_api: FakeGitHub, client: GitHubClient) -> None:
    assert client.get_authenticated_user() == "octocat"
    with GitHubClient(github_api.url, BOT_TOKEN) as bot:
        # The Actions token may not read /user; comments then carry the bot's login.
        assert bot.get_authenticated_user() is None
        assert bot.post_json(COMMENTS, {"body": "x"})["user"]["login"] == ACTIONS_BOT_LOGIN


def test_request_count_counts_every_attempt(github_api: FakeGitHub, client: GitHubClient) -> None:
    github_api.inject(500, on=LIST_COMMENTS)
    client.get_json(REPO_PATH)
    client.get_json(COMMENTS)
    assert client.request_count == 3 == len(github_api.requests)


def test_requests_are_logged_at_debug_level(
    client: GitHubClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="mlops_ci"):
        client.get_json(REPO_PATH)
    assert len(caplog.records) == 1
    assert caplog.records[0].levelno == logging.DEBUG
    assert caplog.records[0].getMessage().startswith(f"GET {REPO_PATH} -> 200 (")
    assert caplog.records[0].getMessage().endswith(" ms)")


def test_the_token_never_reaches_logs_or_errors(
    github_api: FakeGitHub, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    token = USER_TOKEN
    errors: list[str] = []
    github_api.inject(500, on=LIST_COMMENTS)
    github_api.inject("apply_then_fail")
    with caplog.at_level(logging.DEBUG):  # every logger, urllib3's included
        client = GitHubClient(github_api.url, token, sleep=sleeps)
        client.get_json(COMMENTS)
        for call in [
            lambda: client.post_json(COMMENTS, {"body": "x"}),
            lambda: client.get_json(f"/repos/{OWNER}/nope"),
            lambda: GitHubClient(github_api.url, token + "x").get_json(REPO_PATH),
        ]:
            with pytest.raises(GitHubError) as caught:
                call()
            errors.append(str(caught.value))
    assert caplog.records
    assert len(errors) == 3
    assert all(token not in text for text in [caplog.text, *errors, repr(client)])


def test_mask_secret_masks_the_token_on_a_handler() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    mask_secret(USER_TOKEN, [handler])
    logger = logging.getLogger("tests.mask_secret")
    logger.addHandler(handler)
    try:
        logger.warning("token %s in a message", USER_TOKEN)
        try:
            raise RuntimeError(f"failed with {USER_TOKEN}")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    output = stream.getvalue()
    assert "token *** in a message" in output
    assert "RuntimeError: failed with ***" in output
    assert USER_TOKEN not in output


def test_the_filter_masks_the_token_as_a_traceback_escapes_it() -> None:
    secret = "ghp_first-part\nsecond-part"
    masked = SecretFilter([secret]).mask(f"header {('Bearer ' + secret)!r}; {secret}")
    assert "first-part" not in masked and "second-part" not in masked


# -- what the client refuses before sending anything -------------------------------------------


@pytest.mark.parametrize(("token", "says"), [
    (USER_TOKEN + "\n", "a line break (at its end)"),
    (USER_TOKEN[:10] + "\n" + USER_TOKEN[10:], "a line break (at character 11)"),
    (USER_TOKEN + "\r", "a carriage return"),
    (USER_TOKEN + " x", "a space"),
    (USER_TOKEN + "\u20ac", "a non-ASCII character"),
    (USER_TOKEN + "\x00", "a control character"),
])
def test_a_token_that_cannot_be_one_is_refused_unquoted(
    github_api: FakeGitHub, token: str, says: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        GitHubClient(github_api.url, token)
    assert f"holds {says}" in str(caught.value)
    assert USER_TOKEN[:10] not in str(caught.value) and USER_TOKEN[10:] not in str(caught.value)
    assert github_api.requests == []


def test_check_token_returns_a_good_token() -> None:
    assert check_token(USER_TOKEN, source="GITHUB_TOKEN") == USER_TOKEN


def test_an_api_url_with_credentials_is_refused_without_showing_them(
    github_api: FakeGitHub,
) -> None:
    with_credentials = github_api.url.replace("://", "://user:s3cret-pass@")
    with pytest.raises(GitHubError) as caught:
        GitHubClient(with_credentials, USER_TOKEN)
    assert f"{github_api.url} carries credentials" in str(caught.value)
    assert "s3cret-pass" not in str(caught.value)
    assert github_api.requests == []  # requests would have sent them as Basic auth


def test_a_non_http_url_is_shown_without_credentials() -> None:
    with pytest.raises(GitHubError) as caught:
        GitHubClient("ftp://user:s3cret-pass@example.invalid/api", USER_TOKEN)
    assert "ftp://example.invalid/api" in str(caught.value)
    assert "s3cret-pass" not in str(caught.value)


@pytest.mark.parametrize(("url", "shown"), [
    ("https://u:p@ghe.example/api/v3", "https://ghe.example/api/v3"),
    ("https://token@ghe.example:8443/api", "https://ghe.example:8443/api"),
    ("https://a@b:c@ghe.example/", "https://ghe.example/"),
    ("https://api.github.com", "https://api.github.com"),
])
def test_without_credentials(url: str, shown: str) -> None:
    assert without_credentials(url) == shown
