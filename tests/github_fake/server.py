"""A local GitHub REST API: a real HTTP server on 127.0.0.1 that keeps state like GitHub.

Every request is matched and validated against GitHub's OpenAPI description first
(:mod:`github_fake.openapi`); one the description rejects gets the 4xx GitHub would send, naming
the violation, and is recorded as a *rejection*. The pytest fixtures fail a test that leaves an
unacknowledged rejection behind (see :meth:`FakeGitHub.take_rejections`), so a client bug cannot
hide behind a retry. Responses are validated against the description too.

Faults are injected per operation with :meth:`FakeGitHub.inject`. Pagination follows GitHub's:
``per_page`` (default 30, at most 100) and ``page``, with ``Link`` headers whose URLs point at
``/repositories/{id}/...``, the undocumented alias GitHub itself puts there, so a client that
builds page URLs instead of following them shows in the request log.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, urlencode, urlsplit

from . import git_data
from .openapi import DOCS_URL, Description, Operation, Rejection
from .state import (
    Principal,
    Repo,
    State,
    Urls,
    check_run_json,
    comment_json,
    full_repo_json,
    private_user_json,
    pull_json,
    pull_simple_json,
    status_json,
    workflow_run_json,
)

FaultKind = Literal[
    500, 502, 429, "reset", "secondary_rate_limit", "primary_rate_limit", "slow", "apply_then_fail",
    "reset_mid_body", "starter_502",
]
FAULTS: tuple[FaultKind, ...] = (
    500, 502, 429, "reset", "secondary_rate_limit", "primary_rate_limit", "slow", "apply_then_fail",
    "reset_mid_body", "starter_502",
)
# Faults of an asset upload only (github_fake.transfer says what each leaves behind).
UPLOAD_FAULTS = ("reset_mid_body", "starter_502")
CREATE_COMMENT = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments"
SUPPORTED_API_VERSIONS = {"2022-11-28"}
MAX_BODY = 65536  # GitHub's limit on a comment body, in characters
SECONDARY_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID 0000:FAKE."
)


@dataclass
class Fault:
    kind: FaultKind
    on: str  # "METHOD /template", or "*" for any operation
    remaining: int
    retry_after: int | None = None  # seconds, for 429 and secondary_rate_limit
    reset_in: int = 60  # seconds until x-ratelimit-reset, for primary_rate_limit
    seconds: float = 0.2  # for slow


@dataclass
class RecordedRequest:
    """One request as the server received it, and what it did with it."""

    method: str
    path: str  # as sent, prefix included, without the query
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, the raw text if it was not JSON, or None
    operation: str | None = None  # "METHOD /template" once matched
    status: int | None = None  # None: the connection was closed without an answer
    rejection: str | None = None  # why the OpenAPI description rejects the request
    fault: str | None = None  # the injected fault that answered it
    acknowledged: bool = False


class ApiError(Exception):
    """A documented answer that is not a rejection: an unknown issue, a read-only token, ..."""

    def __init__(self, status: int, message: str, errors: list[Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"message": message, "documentation_url": DOCS_URL}
        if errors:
            self.body["errors"] = errors
        self.body["status"] = str(status)


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@functools.lru_cache(maxsize=1)
def _description() -> Description:
    return Description()


class FakeGitHub:
    """The server, its state and its request log. Use as a context manager, or start()/stop()."""

    def __init__(self, *, prefix: str = "") -> None:
        self.prefix = prefix.rstrip("/")
        self.description = _description()
        self.state = State()
        self.requests: list[RecordedRequest] = []
        self.response_errors: list[str] = []
        self._faults: list[Fault] = []
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        from .transfer import ReleaseTransfer

        # Release uploads and asset storage, each on an origin of its own.
        self.transfer = ReleaseTransfer(self, _Handler)
        self._server.daemon_threads = True
        # A short poll interval: stop() waits for the loop to notice, once per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # -- life cycle --------------------------------------------------------------------------

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """The REST base URL, what ``GITHUB_API_URL`` holds (``.../api/v3`` for GHES)."""
        return self.origin + self.prefix

    @property
    def urls(self) -> Urls:
        return Urls(api=self.url, web=self.origin)

    def start(self) -> FakeGitHub:
        self._thread.start()
        self.transfer.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self.transfer.stop()

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests use ----------------------------------------------------------------------

    def inject(
        self,
        fault: FaultKind,
        times: int = 1,
        on: str = CREATE_COMMENT,
        *,
        retry_after: int | None = None,
        reset_in: int = 60,
        seconds: float = 0.2,
    ) -> None:
        """Answer the next ``times`` requests to operation ``on`` with ``fault``.

        ``on`` is ``"METHOD /path/template"`` as the description spells it, or ``"*"``.
        """
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}; choose one of {FAULTS}")
        if on != "*":
            self.description.operation(on)  # KeyError for a misspelt operation
        if fault in UPLOAD_FAULTS and on != UPLOAD:
            raise ValueError(f"{fault!r} is a fault of {UPLOAD} only")
        with self._lock:
            self._faults.append(Fault(fault, on, times, retry_after, reset_in, seconds))

    @property
    def rejections(self) -> list[RecordedRequest]:
        """Requests the description rejected that no test has acknowledged yet."""
        with self._lock:
            return [r for r in self.requests if r.rejection and not r.acknowledged]

    def take_rejections(self) -> list[RecordedRequest]:
        """Acknowledge the rejections so far (a test that provokes them asserts on them)."""
        with self._lock:
            taken = self.rejections
            for request in taken:
                request.acknowledged = True
            return taken

    def add_release(
        self,
        *,
        tag: str,
        files: dict[str, bytes] | None = None,
        draft: bool = False,
        prerelease: bool = False,
        name: str | None = None,
        body: str | None = "",
        target_commitish: str | None = None,
        repo: Repo | None = None,
    ) -> int:
        """Seed a release with uploaded assets (digests included); returns its id.

        Published unless ``draft``; in a repository with ``immutable`` set, published means
        frozen. ``repo`` defaults to the fake's ``octo-org/ml-model``.
        """
        from .releases import add_release

        with self._lock:
            return add_release(self, repo or self.state.repo(), tag=tag, files=files or {},
                               draft=draft, prerelease=prerelease, name=name, body=body,
                               target_commitish=target_commitish)

    def calls(self, operation: str) -> list[RecordedRequest]:
        """The recorded requests matched to ``"METHOD /template"``."""
        with self._lock:
            return [r for r in self.requests if r.operation == operation]

    # -- handling ----------------------------------------------------------------------------

    def _next_fault(self, operation: Operation) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.on in ("*", operation.key):
                    fault.remaining -= 1
                    return fault
        return None

    def handle(self, handler: _Handler) -> Answer | None:
        """Answer one request; None means: close the connection without answering."""
        if self.transfer.is_upload(handler):
            return self.transfer.handle_upload(handler, on_api_host=True)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        parts = urlsplit(handler.path)
        record = RecordedRequest(
            method=handler.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=_parse_body(raw),
        )
        with self._lock:
            self.requests.append(record)
        answer = self._answer(record, raw)
        record.status = None if answer is None else answer.status
        return answer

    def _answer(self, record: RecordedRequest, raw: bytes) -> Answer | None:
        try:
            operation, values = self._match(record)
            record.operation = operation.key
            self._check_headers(record)
            principal = self._authenticate(record)
            params, body = self.description.check_request(operation, values, record.query, raw)
        except Rejection as rejection:
            record.rejection = rejection.message
            return Answer(rejection.status, rejection.body())
        except ApiError as error:
            return Answer(error.status, error.body)

        fault = self._next_fault(operation)
        if fault is not None:
            record.fault = str(fault.kind)
            if fault.kind == "reset":
                return None
            if fault.kind == "slow":
                time.sleep(fault.seconds)  # outside the lock: other requests go on meanwhile
            elif fault.kind != "apply_then_fail":
                return _fault_answer(fault)

        with self._lock:
            try:
                answer = self._route(operation, params, body, principal, record)
            except ApiError as error:
                answer = Answer(error.status, error.body)
            except Exception as exc:  # a bug in the fake: fail the test, not just this request
                self.response_errors.append(f"the fake crashed on {operation.key}: {exc!r}")
                answer = Answer(500, {"message": f"the fake crashed: {exc!r}"})
            if principal is not None and principal.scopes is not None:
                answer.headers.setdefault("X-OAuth-Scopes", ", ".join(principal.scopes))
            problem = None
            if answer.status < 300 or str(answer.status) in operation.spec.get("responses", {}):
                problem = self.description.check_response(operation, answer.status, answer.body)
                problem = tolerated(problem)
            if problem:
                self.response_errors.append(problem)
        if fault is not None and fault.kind == "apply_then_fail":
            return Answer(502, {"message": "Server Error"})
        return answer

    def _match(self, record: RecordedRequest) -> tuple[Operation, dict[str, str]]:
        path = record.path
        if self.prefix:
            if not path.startswith(self.prefix + "/"):
                raise Rejection(404, f"Not Found: {path} is outside the API prefix {self.prefix}")
            path = path[len(self.prefix):]
        alias = re.fullmatch(r"/repositories/(\d+)(/.*)", path)
        if alias:
            with self._lock:
                repo = next((r for r in self.state.repos.values() if r.id == int(alias[1])), None)
            if repo is None:
                raise ApiError(404, "Not Found")
            path = f"/repos/{repo.full_name}{alias[2]}"
        return self.description.match(record.method, path)

    @staticmethod
    def _check_headers(record: RecordedRequest) -> None:
        if not record.headers.get("user-agent"):
            raise Rejection(
                403,
                "Request forbidden by administrative rules. "
                "Please make sure your request has a User-Agent header.",
            )
        version = record.headers.get("x-github-api-version")
        if version is not None and version not in SUPPORTED_API_VERSIONS:
            raise Rejection(400, f"API version {version!r} is not supported.")

    def _authenticate(self, record: RecordedRequest) -> Principal | None:
        header = record.headers.get("authorization")
        if header is None:
            return None
        scheme, _, token = header.partition(" ")
        principal = self.state.tokens.get(token.strip())
        if scheme.lower() not in {"bearer", "token"} or principal is None:
            raise ApiError(401, "Bad credentials")
        return principal

    # -- operations --------------------------------------------------------------------------

    def _route(
        self,
        operation: Operation,
        params: dict[str, Any],
        body: Any,
        principal: Principal | None,
        record: RecordedRequest,
    ) -> Answer:
        if operation.key == "GET /user":
            if principal is None:
                raise ApiError(401, "Requires authentication")
            if principal.integration:
                raise ApiError(403, "Resource not accessible by integration")
            return Answer(200, private_user_json(principal.user, self.urls))

        repo = self._repo(params, principal)
        if operation.method != "get":
            _require_write(principal)
        handler = _ROUTES[operation.key]
        return handler(self, repo, params, body, principal, record)

    def _repo(self, params: dict[str, Any], principal: Principal | None) -> Repo:
        try:
            repo = self.state.repo(params["owner"], params["repo"])
        except KeyError:
            raise ApiError(404, "Not Found") from None
        if repo.private and principal is None:
            raise ApiError(404, "Not Found")
        return repo

    def _page(
        self, record: RecordedRequest, repo: Repo, params: dict[str, Any], items: list[Any]
    ) -> Answer:
        per_page = min(max(int(params.get("per_page", 30)), 1), 100)
        page = max(int(params.get("page", 1)), 1)
        last = max(math.ceil(len(items) / per_page), 1)
        chunk = items[(page - 1) * per_page: page * per_page]
        path = record.path.removeprefix(self.prefix)
        path = re.sub(r"^/repos/[^/]+/[^/]+", f"/repositories/{repo.id}", path)
        kept = {k: v[0] for k, v in record.query.items() if k not in {"page", "per_page"}}

        def link(number: int, rel: str) -> str:
            query = urlencode({**kept, "per_page": per_page, "page": number})
            return f'<{self.url}{path}?{query}>; rel="{rel}"'

        links = []
        if page > 1:
            links.append(link(page - 1, "prev"))
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        if page > 1:
            links.append(link(1, "first"))
        return Answer(200, chunk, {"Link": ", ".join(links)} if links else {})

    def _get_repo(self, repo: Repo, params: dict[str, Any], body: Any,
                  principal: Principal | None, record: RecordedRequest) -> Answer:
        return Answer(200, full_repo_json(repo, self.urls, principal))

    def _get_pull(self, repo: Repo, params: dict[str, Any], body: Any,
                  principal: Principal | None, record: RecordedRequest) -> Answer:
        issue = repo.issues.get(params["pull_number"])
        if issue is None or not issue.pull:
            raise ApiError(404, "Not Found")
        return Answer(200, pull_json(repo, issue, self.urls))

    def _list_comments(self, repo: Repo, params: dict[str, Any], body: Any,
                       principal: Principal | None, record: RecordedRequest) -> Answer:
        issue = repo.issues.get(params["issue_number"])
        if issue is None:
            raise ApiError(404, "Not Found")
        since = params.get("since")
        comments = [
            comment_json(repo, c, self.urls)
            for c in issue.comments
            if since is None or c.updated_at >= since
        ]
        return self._page(record, repo, params, comments)

    def _create_comment(self, repo: Repo, params: dict[str, Any], body: Any,
                        principal: Principal | None, record: RecordedRequest) -> Answer:
        assert principal is not None
        if params["issue_number"] not in repo.issues:
            raise ApiError(404, "Not Found")
        _check_comment_body(body["body"])
        comment = self.state.add_comment(repo, params["issue_number"], body["body"],
                                         principal.user)
        shaped = comment_json(repo, comment, self.urls)
        return Answer(201, shaped, {"Location": shaped["url"]})

    def _get_comment(self, repo: Repo, params: dict[str, Any], body: Any,
                     principal: Principal | None, record: RecordedRequest) -> Answer:
        comment = self.state.find_comment(repo, params["comment_id"])
        if comment is None:
            raise ApiError(404, "Not Found")
        return Answer(200, comment_json(repo, comment, self.urls))

    def _update_comment(self, repo: Repo, params: dict[str, Any], body: Any,
                        principal: Principal | None, record: RecordedRequest) -> Answer:
        comment = self.state.find_comment(repo, params["comment_id"])
        if comment is None:
            raise ApiError(404, "Not Found")
        _check_comment_body(body["body"])
        comment.body = body["body"]
        comment.updated_at = self.state.now()
        return Answer(200, comment_json(repo, comment, self.urls))

    def _create_status(self, repo: Repo, params: dict[str, Any], body: Any,
                       principal: Principal | None, record: RecordedRequest) -> Answer:
        assert principal is not None
        _require_commit(repo, params["sha"])
        status = {
            "id": self.state.next_id(),
            "sha": params["sha"],
            "state": body["state"],
            "description": body.get("description"),
            "target_url": body.get("target_url"),
            "context": body.get("context", "default"),
            "created_at": self.state.now(),
            "creator": principal.user,
        }
        repo.statuses.append(status)
        return Answer(201, status_json(repo, status, self.urls))

    def _create_check_run(self, repo: Repo, params: dict[str, Any], body: Any,
                          principal: Principal | None, record: RecordedRequest) -> Answer:
        assert principal is not None
        if not principal.integration:
            raise ApiError(403, "You must authenticate via a GitHub App.")
        _require_commit(repo, body["head_sha"])
        run = {"id": self.state.next_id(), **body}
        if "conclusion" in run:
            run["status"] = "completed"
        run.setdefault("status", "queued")
        if run["status"] == "completed" and "conclusion" not in run:
            raise ApiError(422, "Invalid request.\n\nNo conclusion given for a completed run.",
                           [{"resource": "CheckRun", "field": "conclusion", "code": "missing"}])
        now = self.state.now()
        run.setdefault("started_at", now)
        if run["status"] == "completed":
            run.setdefault("completed_at", now)
        repo.check_runs.append(run)
        return Answer(201, check_run_json(repo, run, self.urls))

    def _pulls_for_commit(self, repo: Repo, params: dict[str, Any], body: Any,
                          principal: Principal | None, record: RecordedRequest) -> Answer:
        pulls = [
            pull_simple_json(repo, issue, self.urls)
            for issue in repo.issues.values()
            if issue.pull and params["commit_sha"] in (issue.head_sha, issue.merge_commit_sha)
        ]
        return self._page(record, repo, params, pulls)

    def _get_run(self, repo: Repo, params: dict[str, Any], body: Any,
                 principal: Principal | None, record: RecordedRequest) -> Answer:
        run = repo.runs.get(params["run_id"])
        if run is None:
            raise ApiError(404, "Not Found")
        return Answer(200, workflow_run_json(repo, run, self.urls))


_Route = Callable[
    [FakeGitHub, Repo, dict[str, Any], Any, "Principal | None", RecordedRequest], Answer
]
_ROUTES: dict[str, _Route] = {
    "GET /repos/{owner}/{repo}": FakeGitHub._get_repo,
    "GET /repos/{owner}/{repo}/pulls/{pull_number}": FakeGitHub._get_pull,
    "GET /repos/{owner}/{repo}/issues/{issue_number}/comments": FakeGitHub._list_comments,
    CREATE_COMMENT: FakeGitHub._create_comment,
    "GET /repos/{owner}/{repo}/issues/comments/{comment_id}": FakeGitHub._get_comment,
    "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}": FakeGitHub._update_comment,
    "POST /repos/{owner}/{repo}/statuses/{sha}": FakeGitHub._create_status,
    "POST /repos/{owner}/{repo}/check-runs": FakeGitHub._create_check_run,
    "GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls": FakeGitHub._pulls_for_commit,
    "GET /repos/{owner}/{repo}/actions/runs/{run_id}": FakeGitHub._get_run,
    **git_data.ROUTES,
}


from .deployments import ROUTES as _DEPLOYMENT_ROUTES  # noqa: E402 (they use the names above)
from .releases import ROUTES as _RELEASE_ROUTES  # noqa: E402
from .releases import UPLOAD, tolerated  # noqa: E402
from .reviews import ROUTES as _REVIEW_ROUTES  # noqa: E402

_ROUTES.update(_RELEASE_ROUTES)
_ROUTES.update(_DEPLOYMENT_ROUTES)
_ROUTES.update(_REVIEW_ROUTES)


def _require_write(principal: Principal | None) -> None:
    if principal is None:
        raise ApiError(401, "Requires authentication")
    if not principal.can_write:
        raise ApiError(403, "Resource not accessible by integration")


def _require_commit(repo: Repo, sha: str) -> None:
    if sha not in repo.commits:
        raise ApiError(422, f"No commit found for SHA: {sha}")


def _check_comment_body(text: str) -> None:
    if len(text) > MAX_BODY:
        raise ApiError(
            422,
            "Validation Failed",
            [{"resource": "IssueComment", "code": "custom", "field": "body",
              "message": f"body is too long (maximum is {MAX_BODY} characters)"}],
        )


def _parse_body(raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _fault_answer(fault: Fault) -> Answer:
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = str(fault.retry_after)
    if fault.kind in (500, 502):
        return Answer(int(fault.kind), {"message": "Server Error"})
    if fault.kind == 429:
        return Answer(429, {"message": SECONDARY_MESSAGE, "documentation_url": DOCS_URL}, headers)
    if fault.kind == "secondary_rate_limit":
        return Answer(403, {"message": SECONDARY_MESSAGE, "documentation_url": DOCS_URL}, headers)
    reset = int(time.time()) + fault.reset_in
    return Answer(
        403,
        {"message": "API rate limit exceeded for installation ID 1.",
         "documentation_url": DOCS_URL},
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset),
         "x-ratelimit-used": "5000"},
    )


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as api.github.com does
    server_version = "GitHub.com"
    sys_version = ""
    fake: FakeGitHub

    def _serve(self) -> None:
        answer = self.fake.handle(self)
        if answer is None:
            self._reset()
            return
        payload = b"" if answer.body is None else json.dumps(answer.body).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Content-Length": str(len(payload)),
            "X-GitHub-Api-Version-Selected": "2022-11-28",
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Request-Id": "0000:FAKE",
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "4999",
            "x-ratelimit-reset": str(int(time.time()) + 3600),
            "x-ratelimit-used": "1",
            "x-ratelimit-resource": "core",
            **answer.headers,
        }
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            # The client may have given up already (a slow answer past its timeout).
            self.send_response(answer.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    def _reset(self) -> None:
        """Close the connection with a TCP reset, as a dropped connection looks to a client."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr log: ``FakeGitHub.requests`` is the log."""


def _handler_for(fake: FakeGitHub) -> type[_Handler]:
    return type("Handler", (_Handler,), {"fake": fake})


def iter_link_urls(header: str) -> Iterator[tuple[str, str]]:
    """(rel, url) pairs of a ``Link`` header; for tests that inspect pagination."""
    for match in re.finditer(r'<([^>]+)>;\s*rel="([^"]+)"', header):
        yield match[2], match[1]
