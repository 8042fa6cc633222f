"""The sticky comment: its body, its hidden history, and finding and writing it on the local
GitHub API over real sockets, faults included."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from gfm_inert import FORGED_HISTORY, headings_of, hostile_report, inert_problems
from hypothesis import given, settings
from hypothesis import strategies as st
from test_render import to_html  # GitHub's cmark, raw HTML kept

from factories import make_failing_report, make_metric, make_report
from github_fake import BOT_TOKEN, CREATE_COMMENT, USER_TOKEN, FakeGitHub
from github_fake.state import OWNER, PR_NUMBER, REPO
from mlops_ci.errors import InputError
from mlops_ci.github.client import GitHubClient
from mlops_ci.github.comments import (
    BODY_BUDGET,
    GITHUB_BODY_LIMIT,
    comment_body,
    comment_marker,
    fit_markdown,
    publish_comment,
    text_length,
)
from mlops_ci.github.errors import GitHubAuthError, GitHubNotFoundError, GitHubUncertainWriteError
from mlops_ci.github.history import (
    HISTORY_LIMIT,
    History,
    HistoryEntry,
    encode_history,
    next_history,
    parse_history,
    render_history,
)
from mlops_ci.report import ParamDiff, Report

SHA_1 = "1111111111111111111111111111111111111111"
SHA_2 = "2222222222222222222222222222222222222222"
RUN_URL = "https://github.com/octo-org/ml-model/actions/runs/4242"
LIST = "GET /repos/{owner}/{repo}/issues/{issue_number}/comments"
PATCH = "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}"
USER = "GET /user"


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def open_client(api: FakeGitHub, token: str = USER_TOKEN) -> GitHubClient:
    return GitHubClient(api.url, token, timeout=10, sleep=Sleeps())


@pytest.fixture
def client(github_api: FakeGitHub) -> Iterator[GitHubClient]:
    with open_client(github_api) as made:
        yield made


def publish(
    client: GitHubClient,
    report: Report | None = None,
    *,
    sha: str = SHA_1,
    key: str = "default",
    mode: Any = "update",
    number: int = PR_NUMBER,
    before_write: Callable[[], None] | None = None,
) -> Any:
    """One run's comment, as `mlops-ci run` publishes it; *before_write* runs between requests."""
    report = report or make_report()

    def render(previous: str | None) -> str:
        if before_write is not None:
            before_write()
        return comment_body(report, key=key, previous_body=previous, head_sha=sha, run_url=RUN_URL)

    return publish_comment(
        client, owner=OWNER, repo=REPO, number=number, key=key, mode=mode, render=render,
        recheck_delay=0,
    )


def comments(api: FakeGitHub, number: int = PR_NUMBER) -> list[Any]:
    return api.state.repo().comments(number)


def operations(api: FakeGitHub) -> list[str | None]:
    return [r.operation for r in api.requests]


def add_others(api: FakeGitHub, count: int, start: int = 0) -> None:
    state = api.state
    other = state.users.get("hubot") or state.add_user("hubot", 480938)
    for i in range(start, start + count):
        state.add_comment(state.repo(), PR_NUMBER, f"LGTM {i}", other)


# --- the marker ---


def test_the_marker_is_a_hidden_html_comment_naming_the_key() -> None:
    assert comment_marker("default") == "<!-- mlops-ci:comment key=default -->"
    assert comment_marker("model-a.v2_x") == "<!-- mlops-ci:comment key=model-a.v2_x -->"


@pytest.mark.parametrize("key", ["", "a b", "x -->", "<script>", "k\n", "é", "a" * 101])
def test_a_key_that_could_break_the_marker_is_refused(key: str) -> None:
    with pytest.raises(InputError, match="comment key"):
        comment_marker(key)


# --- create, then update ---


@pytest.mark.parametrize(
    ("token", "author"), [(USER_TOKEN, "octocat"), (BOT_TOKEN, "github-actions[bot]")]
)
def test_the_first_run_creates_and_the_second_updates_in_place(
    github_api: FakeGitHub, token: str, author: str
) -> None:
    with open_client(github_api, token) as client:
        first = publish(client, sha=SHA_1)
        assert first.action == "created"
        assert operations(github_api) == [USER, LIST, CREATE_COMMENT]
        github_api.requests.clear()

        second = publish(client, make_failing_report(), sha=SHA_2)

    assert second.action == "updated" and second.id == first.id
    assert operations(github_api) == [USER, LIST, PATCH]
    (only,) = comments(github_api)
    assert only.user.login == author
    assert second.url == first.url and second.url.endswith(f"#issuecomment-{only.id}")
    assert only.body.startswith(comment_marker("default") + "\n")
    assert "❌ **Failed**" in only.body and "✅ **Passed**" not in only.body
    history = parse_history(only.body)
    assert history is not None
    assert [(e.sha, e.verdict) for e in history.entries] == [(SHA_2, "fail"), (SHA_1, "pass")]
    assert "History of roc\\_auc (2 pushes)" in only.body
    assert "| `2222222` (this push) | 0.9051 | ❌ fail |" in only.body
    assert "| `1111111` | 0.9287 | ✅ pass |" in only.body


def test_the_comment_is_found_on_page_two_of_150(
    github_api: FakeGitHub, client: GitHubClient
) -> None:
    add_others(github_api, 120)
    github_api.state.add_comment(
        github_api.state.repo(), PR_NUMBER, comment_marker("default") + "\nold report",
        github_api.state.users["octocat"],
    )
    add_others(github_api, 30, start=120)

    result = publish(client)

    assert result.action == "updated"
    # one listing per 100 comments up to ours, plus GET /user and the one write
    assert operations(github_api) == [USER, LIST, LIST, PATCH]
    assert client.request_count == len(github_api.requests) == 4
    # the second page was read from the Link header, as GitHub gave it
    assert github_api.requests[2].path == f"/repositories/1296269/issues/{PR_NUMBER}/comments"
    assert len(comments(github_api)) == 151
    assert sum(comment_marker("default") in c.body for c in comments(github_api)) == 1
    assert "old report" not in comments(github_api)[120].body


def test_listing_stops_at_the_comment(github_api: FakeGitHub, client: GitHubClient) -> None:
    publish(client)
    add_others(github_api, 250)
    github_api.requests.clear()
    publish(client, sha=SHA_2)
    assert operations(github_api) == [USER, LIST, PATCH]


def test_without_the_comment_every_page_is_read(
    github_api: FakeGitHub, client: GitHubClient
) -> None:
    add_others(github_api, 201)
    assert publish(client).action == "created"
    assert operations(github_api) == [USER, LIST, LIST, LIST, CREATE_COMMENT]


def test_a_marked_comment_by_someone_else_is_never_edited(
    github_api: FakeGitHub,
) -> None:
    state = github_api.state
    planted = state.add_comment(
        state.repo(), PR_NUMBER, comment_marker("default") + "\nplanted by a human",
        state.users["octocat"],
    )
    with open_client(github_api, BOT_TOKEN) as client:
        result = publish(client)
    assert result.action == "created"
    assert planted.body == comment_marker("default") + "\nplanted by a human"
    ours = comments(github_api)[-1]
    assert ours.user.login == "github-actions[bot]" and ours.id == result.id


def test_a_marker_quoted_inside_a_comment_is_not_ours(
    github_api: FakeGitHub, client: GitHubClient
) -> None:
    state = github_api.state
    quoted = state.add_comment(
        state.repo(), PR_NUMBER, "See:\n" + comment_marker("default"), state.users["octocat"]
    )
    assert publish(client).action == "created"
    assert quoted.body.startswith("See:")


def test_each_key_keeps_its_own_comment(github_api: FakeGitHub, client: GitHubClient) -> None:
    a = publish(client, key="model-a")
    b = publish(client, key="model-b")
    publish(client, make_failing_report(), key="model-a", sha=SHA_2)
    assert a.id != b.id
    by_id = {c.id: c for c in comments(github_api)}
    assert len(by_id) == 2
    assert "Failed" in by_id[a.id].body and "Failed" not in by_id[b.id].body
    assert "key=model-b" in by_id[b.id].body


def test_mode_new_posts_a_comment_every_run(
    github_api: FakeGitHub, client: GitHubClient
) -> None:
    publish(client, mode="new")
    publish(client, mode="new", sha=SHA_2)
    assert len(comments(github_api)) == 2
    assert operations(github_api) == [CREATE_COMMENT, CREATE_COMMENT]


def test_mode_off_posts_nothing(github_api: FakeGitHub, client: GitHubClient) -> None:
    assert publish(client, mode="off") is None
    assert github_api.requests == [] and comments(github_api) == []


def test_a_comment_deleted_before_the_edit_is_posted_again(
    github_api: FakeGitHub, client: GitHubClient
) -> None:
    publish(client)

    def delete() -> None:
        comments(github_api).clear()

    result = publish(client, sha=SHA_2, before_write=delete)
    assert result.action == "created"
    assert len(comments(github_api)) == 1


# --- faults: retried, never a duplicate ---


@pytest.mark.parametrize(
    ("fault", "options"),
    [
        (500, {}),
        (502, {}),
        ("reset", {}),
        (429, {"retry_after": 3}),
        ("secondary_rate_limit", {"retry_after": 3}),
        ("primary_rate_limit", {"reset_in": 5}),
        ("apply_then_fail", {}),
    ],
)
@pytest.mark.parametrize("mode", ["update", "new"])
def test_a_failed_create_never_leaves_two_comments(
    github_api: FakeGitHub, client: GitHubClient, fault: Any, options: dict[str, Any], mode: str
) -> None:
    github_api.inject(fault, **options)
    result = publish(client, mode=mode)
    (only,) = comments(github_api)
    assert result.id == only.id and result.action == "created"
    assert parse_history(only.body) is not None
    posts = github_api.calls(CREATE_COMMENT)
    # a rate limit is refused before anything happens, so the client repeats the POST itself;
    # a 5xx or a reset may hide a comment, so the comments are listed before a second POST
    assert len(posts) == (1 if fault == "apply_then_fail" else 2)


@pytest.mark.parametrize("fault", [500, 502, "reset", "apply_then_fail"])
def test_a_failed_update_is_repeated_and_never_posts(
    github_api: FakeGitHub, client: GitHubClient, fault: Any
) -> None:
    publish(client)
    github_api.inject(fault, on=PATCH)
    github_api.inject(fault, on=LIST)
    result = publish(client, make_failing_report(), sha=SHA_2)
    (only,) = comments(github_api)
    assert result.action == "updated" and "Failed" in only.body
    assert len(github_api.calls(CREATE_COMMENT)) == 1


def test_a_comment_created_meanwhile_by_another_run_is_updated(
    github_api: FakeGitHub, client: GitHubClient
) -> None:
    """Two runs of one pull request at once: the other run's comment appears while ours fails."""
    state = github_api.state

    def other_run() -> None:
        state.add_comment(state.repo(), PR_NUMBER, comment_marker("default") + "\nother run",
                          state.users["octocat"])
        github_api.inject(500)

    result = publish(client, before_write=other_run)
    (only,) = comments(github_api)
    assert result.action == "updated" and "other run" not in only.body


def test_when_every_create_fails_the_error_says_so(
    github_api: FakeGitHub, client: GitHubClient
) -> None:
    github_api.inject(502, times=3)
    with pytest.raises(GitHubUncertainWriteError, match="POST /repos/octo-org/ml-model/issues"):
        publish(client)
    assert comments(github_api) == []
    assert operations(github_api).count(LIST) == 3  # looked before each repeat


# --- errors a user must fix ---


def test_a_bad_token_is_a_clear_error(github_api: FakeGitHub) -> None:
    with open_client(github_api, "ghp_notAToken") as client, pytest.raises(
        GitHubAuthError
    ) as caught:
        publish(client)
    message = str(caught.value)
    assert "GET /user returned 401 (Bad credentials)" in message
    assert "GITHUB_TOKEN" in message and "ghp_notAToken" not in message
    assert comments(github_api) == []


@pytest.mark.parametrize(
    ("number", "where"), [(999, "/issues/999/comments"), (PR_NUMBER, "/repos/nobody/")]
)
def test_an_unknown_pull_request_or_repository_is_a_clear_error(
    github_api: FakeGitHub, client: GitHubClient, number: int, where: str
) -> None:
    owner = "nobody" if where.startswith("/repos/nobody") else OWNER
    with pytest.raises(GitHubNotFoundError) as caught:
        publish_comment(
            client, owner=owner, repo=REPO, number=number, key="default", mode="update",
            render=lambda previous: "body",
        )
    assert where in str(caught.value) and "404" in str(caught.value)
    assert "does not exist, or the token cannot see it" in str(caught.value)


def test_github_enterprise_server(ghes_api: FakeGitHub) -> None:
    with GitHubClient(ghes_api.url, USER_TOKEN, sleep=Sleeps()) as client:
        publish(client)
        result = publish(client, sha=SHA_2)
    assert result.action == "updated"
    assert all(r.path.startswith("/api/v3/") for r in ghes_api.requests)
    assert len(comments(ghes_api)) == 1


# --- the history ---


def entry(sha: str, value: Any = 0.9, verdict: Any = "pass") -> HistoryEntry:
    return HistoryEntry(sha, value, verdict)


def test_history_keeps_the_newest_pushes_and_replaces_a_rerun() -> None:
    report = make_report()
    history = None
    shas = [f"{i:040x}" for i in range(1, 30)]
    for sha in shas:
        history = next_history(history, report, sha)
    assert history is not None
    assert len(history.entries) == HISTORY_LIMIT
    assert [e.sha for e in history.entries] == shas[::-1][:HISTORY_LIMIT]
    rerun = next_history(history, make_failing_report(), shas[-1])
    assert rerun is not None and len(rerun.entries) == HISTORY_LIMIT
    assert (rerun.entries[0].sha, rerun.entries[0].verdict) == (shas[-1], "fail")
    assert rerun.entries[1:] == history.entries[1:]


def test_history_starts_over_when_the_primary_metric_changes() -> None:
    old = History("accuracy", (entry(SHA_1),))
    history = next_history(old, make_report(), SHA_2)
    assert history is not None and history.metric == "roc_auc"
    assert [e.sha for e in history.entries] == [SHA_2]


def test_no_history_without_a_primary_metric() -> None:
    report = make_report(primary_metric=None, metrics=[make_metric("accuracy")])
    assert next_history(None, report, SHA_1) is None
    body = comment_body(report, key="default", head_sha=SHA_1)
    assert "mlops-ci:history" not in body and "History of" not in body


def test_a_value_that_is_not_a_number_is_kept_as_missing() -> None:
    report = make_report(metrics=[make_metric("roc_auc", "high", "higher", primary=True)])
    history = next_history(None, report, SHA_1)
    assert history is not None and history.entries[0].value is None


def test_the_history_round_trips() -> None:
    history = History("roc_auc", (entry(SHA_2, 0.91, "fail"), entry(SHA_1, 12, "pass"),
                                  entry("abcdef0", None, "pass")))
    body = f"{comment_marker('default')}\n{encode_history(history)}\n\nmore"
    assert parse_history(body) == history
    assert parse_history(body.replace("\n", "\r\n")) == history  # as GitHub may store it


def test_the_history_is_read_only_from_the_line_after_the_marker() -> None:
    """A history line further down is text a report's names or prose put there."""
    ours = encode_history(History("roc_auc", (entry(SHA_1),)))
    forged = FORGED_HISTORY
    marker = comment_marker("default")
    assert parse_history(f"{marker}\n{ours}\n\n`{forged}`") == parse_history(
        f"{marker}\n{ours}\n"
    )
    for body in (
        f"{marker}\n\n| `{forged}` | 1 |",  # no history of ours: none is made up
        f"{marker}\n`{forged}`",  # on the second line, but inside other text
        f"{marker}\n {forged}",
        f"{forged}\n{marker}",  # before the marker
        forged,
        f"text\n{forged}",
    ):
        assert parse_history(body) is None, body


def test_no_report_field_plants_history_in_the_comment() -> None:
    """Today a history line inside a code span becomes fabricated pushes: no longer."""
    planted = make_report(primary_metric=None, metrics=[], gates=[], params=[
        ParamDiff(FORGED_HISTORY, "params.yaml", 1, 2, "modified")
    ])
    for untrusted in (False, True):
        body = comment_body(planted, key="default", untrusted=untrusted)
        assert parse_history(body) is None
    body = comment_body(hostile_report(), key="default", head_sha=SHA_1, untrusted=True)
    history = parse_history(body)
    assert history is not None and [e.sha for e in history.entries] == [SHA_1]
    assert body.count("<!--") == 2  # the marker and the history line, nothing else


def test_an_untrusted_comment_is_inert() -> None:
    benign = comment_body(make_report(), key="default", head_sha=SHA_1, untrusted=True)
    previous = comment_body(hostile_report(), key="default", head_sha=SHA_2, untrusted=True)
    body = comment_body(
        hostile_report(), key="default", previous_body=previous, head_sha=SHA_1,
        run_url=RUN_URL, untrusted=True, preface="> A note of ours.\n\n",
    )
    assert body.split("\n")[3] == "> A note of ours."
    assert "History of" in body  # the table is there, and inert too
    assert inert_problems(body, headings=headings_of(benign)) == []


def test_an_untrusted_comment_cut_to_fit_stays_inert() -> None:
    report = hostile_report()
    report.metrics += many_metrics(3000).metrics
    body = comment_body(report, key="default", head_sha=SHA_1, run_url=RUN_URL, untrusted=True)
    assert "**This comment is shortened**" in body and text_length(body) <= BODY_BUDGET
    assert inert_problems(body, allowed_hrefs=[RUN_URL]) == []


def test_the_history_table_shows_its_metric_name_as_text() -> None:
    history = History("@octocat ![x](https://evil/x.png) #1", (entry(SHA_2), entry(SHA_1)))
    assert inert_problems(render_history(history, 3)) == []


def test_the_history_table_parses_as_a_table() -> None:
    history = History("roc_auc", (entry(SHA_2, 0.91234, "fail"), entry(SHA_1, 0.9, "pass")))
    html = to_html(render_history(history, 3))
    assert html.count("<tr>") == 3 and "<details>" in html
    assert "<code>2222222</code> (this push)" in html and "0.912" in html


def hidden(data: Any) -> str:
    """A comment body whose history line, where ours stands, holds *data*."""
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    line = f"<!-- mlops-ci:history {base64.b64encode(raw).decode()} -->"
    return f"{comment_marker('default')}\n{line}"


def test_a_valid_hidden_history_is_read() -> None:
    assert parse_history(hidden(GOOD)) == History("roc_auc", (entry(SHA_1, 0.9, "pass"),))


GOOD = {"v": 1, "metric": "roc_auc", "runs": [{"sha": SHA_1, "value": 0.9, "verdict": "pass"}]}


def with_run(**fields: Any) -> dict[str, Any]:
    return {**GOOD, "runs": [{**GOOD["runs"][0], **fields}]}


@pytest.mark.parametrize(
    "text",
    [
        "no history here",
        "<!-- mlops-ci:history not base64! -->",
        "<!-- mlops-ci:history eyJ2Ijox",  # never closed
        "<!-- mlops-ci:history " + "A" * 20_000 + " -->",
        hidden(b"\xff\xfe not utf-8"),
        hidden(b"[" * 5000 + b"]" * 5000),
        hidden([GOOD]),
        hidden({**GOOD, "v": 2}),
        hidden({**GOOD, "metric": ""}),
        hidden({**GOOD, "metric": ["roc_auc"]}),
        hidden({**GOOD, "metric": "m" * 501}),
        hidden({**GOOD, "runs": {"sha": SHA_1}}),
        hidden({**GOOD, "runs": GOOD["runs"] * 51}),
        hidden({**GOOD, "runs": ["x"]}),
        hidden(with_run(sha="<img src=x onerror=alert(1)>")),
        hidden(with_run(sha="`| injected |`")),
        hidden(with_run(sha="ABCDEF0123456789ABCDEF0123456789ABCDEF01")),
        hidden(with_run(sha=12345678)),
        hidden(with_run(value="<script>alert(1)</script>")),
        hidden(with_run(value=True)),
        hidden(with_run(value=[1])),
        hidden(with_run(verdict="**pass**")),
        hidden(with_run(verdict=None)),
    ],
)
def test_hostile_or_broken_history_is_ignored_whole(text: str) -> None:
    assert parse_history(text) is None


def test_nan_and_infinity_are_not_numbers() -> None:
    for value in ("NaN", "Infinity", "-Infinity"):
        raw = json.dumps(GOOD).replace("0.9", value).encode()
        assert parse_history(hidden(raw)) is None


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=300).map(hidden))
def test_the_parser_never_raises(text: str) -> None:
    result = parse_history(text)
    assert result is None or isinstance(result, History)


@settings(max_examples=100, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=30,
))
def test_any_json_is_parsed_or_refused(data: Any) -> None:
    try:
        raw = json.dumps(data).encode()
    except ValueError:
        return
    result = parse_history(hidden(raw))
    assert result is None or isinstance(result, History)


def test_an_edited_history_never_reaches_the_page(
    github_api: FakeGitHub, client: GitHubClient
) -> None:
    """Someone with write access edits the data; the next run drops it and renders its own."""
    publish(client)
    (ours,) = comments(github_api)
    evil = {**GOOD, "runs": [{"sha": "<script>", "value": 1, "verdict": "pass"}]}
    start = ours.body.index("<!-- mlops-ci:history ")
    end = ours.body.index(" -->", start) + 4
    ours.body = ours.body[:start] + hidden(evil) + ours.body[end:]
    publish(client, sha=SHA_2)
    history = parse_history(ours.body)
    assert history is not None and [e.sha for e in history.entries] == [SHA_2]
    assert "<script>" not in ours.body


# --- the size limit ---


def many_metrics(count: int) -> Report:
    metrics = [make_metric("roc_auc", 0.9123, 0.9287, primary=True)] + [
        make_metric(f"class_{i}.f1", 0.5 + i / 10**5, 0.5 + i / 10**5 + 0.001)
        for i in range(count)
    ]
    return make_report(metrics=metrics)


def test_a_huge_report_is_cut_to_fit_with_a_note(
    github_api: FakeGitHub, client: GitHubClient
) -> None:
    report = many_metrics(3000)
    earlier = comment_marker("default") + "\n" + encode_history(History("roc_auc", (entry(SHA_2),)))
    body = comment_body(
        report, key="default", previous_body=earlier, head_sha=SHA_1, run_url=RUN_URL
    )
    assert text_length(body) <= BODY_BUDGET < GITHUB_BODY_LIMIT
    assert len(body) > BODY_BUDGET - 2000  # cut only as much as needed
    assert "**This comment is shortened**" in body
    assert f"[job summary]({RUN_URL})" in body
    assert "left out: the model card and" in body and "Model card</summary>" in body
    assert "## Intended use" not in body  # the card itself is gone

    html = to_html(body)
    tables = html.split("<table>")[1:]
    # metrics, gates, params, lineage, history: every table is still a table
    assert len(tables) == 5
    metrics_rows = tables[0].count("<tr>") - 1
    cut = int(body.split("| _… ")[1].split(" more rows")[0].replace(",", ""))
    assert metrics_rows - 1 + cut == 3001  # the kept rows, the note row and the rows cut
    assert "<strong>roc_auc</strong> (primary)" in tables[0]  # the primary metric stays
    assert tables[1].count("<tr>") == 4  # the gates table is whole
    assert "History of" in body

    publish(client, report)  # GitHub accepts it
    assert comments(github_api)[0].body.startswith(comment_marker("default"))


def test_a_report_that_fits_is_not_cut() -> None:
    body = comment_body(make_report(), key="default", head_sha=SHA_1, run_url=RUN_URL)
    assert "shortened" not in body and "## Intended use" in body


def test_wide_characters_count_as_github_counts_them() -> None:
    rows = "\n".join(f"| 🟢 {i} |" for i in range(20_000))
    fitted = fit_markdown("| a |\n|:--|\n" + rows + "\n", 10_000)
    assert text_length(fitted) <= 10_000 and len(fitted) < text_length(fitted)
    assert text_length("\ud800") == 1  # a lone surrogate, which JSON allows, counts too


def test_text_beyond_the_tables_is_cut_at_a_line_with_its_blocks_closed() -> None:
    markdown = "## Title\n\n<details><summary>x</summary>\n\n```\n" + "line\n" * 5000 + "```\n"
    fitted = fit_markdown(markdown, 2000, run_url=RUN_URL)
    assert text_length(fitted) <= 2000
    assert "the end of the report" in fitted
    html = to_html(fitted)
    assert html.count("<pre>") == 1 and html.rstrip().endswith("</details>")
