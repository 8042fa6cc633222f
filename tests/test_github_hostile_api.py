"""A hostile GitHub API (a compromised GitHub Enterprise Server, a proxy on GITHUB_API_URL)
against the client and the remote registry reader: bounded pagination, odd JSON shapes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from mlops_ci.errors import GitHubError
from mlops_ci.github.client import MAX_PAGES as CLIENT_MAX_PAGES
from mlops_ci.github.client import GitHubClient
from mlops_ci.github.releases import find_release

PAGES = 1500  # the hostile server stops here, so the test ends either way


class EndlessPages(BaseHTTPRequestHandler):
    """Every list page links a next one; no release is found by tag."""

    served = 0
    ids: ClassVar[list[Any]] = []  # release ids of a one-page list (default: endless pages)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if "/releases/tags/" in parts.path:
            self._send(404, {"message": "Not Found"})
            return
        page = int(parse_qs(parts.query).get("page", ["1"])[0])
        type(self).served += 1
        headers = {}
        if page < PAGES:
            host = self.headers["Host"]
            link = f"http://{host}{parts.path}?per_page=100&page={page + 1}"
            headers["Link"] = f'<{link}>; rel="next"'
        if type(self).ids:  # one page of drafts of the tag asked for
            self._send(200, [{"id": i, "tag_name": "churn@v1.1.0", "draft": True,
                              "created_at": "2024-01-01T00:00:00Z"} for i in type(self).ids])
            return
        self._send(200, [{"id": page, "tag_name": f"other-{page}", "draft": False}], headers)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hostile_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), EndlessPages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    EndlessPages.served, EndlessPages.ids = 0, []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_pagination_is_bounded(hostile_api: str) -> None:
    """client.paginate follows `Link: rel="next"` for MAX_PAGES pages at most, so an API that
    keeps answering "next" (find_release lists the releases when a tag has none published) is
    refused instead of followed for ever with every item held in memory."""
    with (
        GitHubClient(hostile_api, None, sleep=lambda s: None) as client,
        pytest.raises(GitHubError, match="kept answering with a next page"),
    ):
        find_release(client, "octo-org/ml-model", "churn@v1.1.0")
    assert EndlessPages.served == CLIENT_MAX_PAGES


def test_odd_release_ids_do_not_crash_the_choice_of_a_draft(hostile_api: str) -> None:
    EndlessPages.ids = ["7", 3, None]  # drafts of one tag, created at the same second
    with GitHubClient(hostile_api, None, sleep=lambda s: None) as client:
        found = find_release(client, "octo-org/ml-model", "churn@v1.1.0")
    assert found is not None and found["id"] in ("7", None)  # counted as 0, before 3


class StubClient:
    """Answers the two git-database endpoints with hostile JSON shapes."""

    def __init__(self, refs: Any, tag: Any = None) -> None:
        self.refs, self.tag = refs, tag

    def request(self, method: str, url: str, **_: Any) -> Any:
        refs = self.refs

        class Response:
            links: ClassVar[dict[str, Any]] = {}

            def json(self) -> Any:
                return refs

        return Response()

    def get_json(self, path: str, *_: Any, **__: Any) -> Any:
        return self.tag


SHA = "a" * 40
ANNOTATED = [{"ref": "refs/tags/churn@v1.0.0", "object": {"type": "tag", "sha": SHA}}]


@pytest.mark.parametrize(
    "refs, tag, refused",
    [
        ([{"ref": "refs/tags/churn@v1.0.0", "object": "not an object"}], None, False),
        (ANNOTATED, {"object": ["a", "list"], "tagger": {"date": "2024-01-01T00:00:00Z"}},
         False),
        (ANNOTATED, {"object": {"type": "commit", "sha": SHA}, "tagger": "a string"}, True),
        (ANNOTATED, {"object": {"type": "commit", "sha": 7}, "tagger": {}}, False),
    ],
    ids=["ref object a string", "tag object a list", "tagger a string", "sha a number"],
)
def test_odd_json_shapes_from_the_tags_api_are_a_clear_error(
    refs: Any, tag: Any, refused: bool
) -> None:
    """An odd shape where an object should be is taken as "not an annotated tag" (the tag is
    not in the registry) or, where the registry cannot be ordered without it (the tagger's
    date), refused with a GitHubError: never an AttributeError (exit 3, a traceback)."""
    from mlops_ci.github.tags import read_remote_registry

    client = StubClient(refs, tag)
    if refused:
        with pytest.raises(GitHubError, match="has no date"):
            read_remote_registry(client, "octo-org/ml-model")  # type: ignore[arg-type]
        return
    registry = read_remote_registry(client, "octo-org/ml-model")  # type: ignore[arg-type]
    assert registry.artifact("churn") is None
