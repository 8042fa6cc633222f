"""The GitHub REST client: versioned headers, token auth, retries, pagination, clear errors.

One factory, :class:`GitHubClient`, builds the HTTP session. Paths are joined onto the API URL
(``GITHUB_API_URL``: ``https://api.github.com``, or ``https://HOST/api/v3`` on GitHub
Enterprise Server), so the same calls work on both.

Retries. Connection errors, timeouts and 5xx answers are retried with exponential backoff and
full jitter; rate limits (429, and 403 with ``x-ratelimit-remaining: 0`` or a secondary-limit
message) wait as long as GitHub says (``Retry-After``, ``x-ratelimit-reset``). The total time
spent waiting is bounded by ``max_wait``: when GitHub asks for longer, the client fails at once
and says when the limit resets. Other 4xx answers are never retried.

Idempotency. A POST that creates something (a comment) is not retried once it may have reached
GitHub: after a timeout, a reset connection or a 5xx, GitHub may have created the comment before
failing, and a retry would post it twice. The client raises :class:`GitHubUncertainWriteError`
instead, and the caller decides: the sticky-comment layer lists the comments again and posts
only if its comment is not there. A POST is retried when the connection was never established,
or when the caller passes ``idempotent=True`` (a commit status: posting it twice is harmless).

The token goes to :attr:`GitHubClient.token_origins` only: the API's, and the upload origin
that :mod:`mlops_ci.github.transfer` admits (docs/github.md, "Publishing releases").
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mlops_ci import __version__
from mlops_ci.errors import GitHubError
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
from mlops_ci.github.responses import (
    describe_failure,
    documentation_url,
    github_message,
    ms_since,
    never_sent,
    rate_limit,
    validation_details,
)
from mlops_ci.github.tokens import check_token, without_credentials

if TYPE_CHECKING:
    import requests

log = logging.getLogger(__name__)

API_VERSION = "2022-11-28"
# Who comments with the GITHUB_TOKEN of a workflow; GET /user cannot tell, see
# GitHubClient.get_authenticated_user.
ACTIONS_BOT_LOGIN = "github-actions[bot]"

_RETRY_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})
_BACKOFF_BASE = 1.0  # seconds; the n-th retry waits up to base * 2**(n-1), jittered
_BACKOFF_CAP = 30.0
_SHORT_DOC_URL = 100

# Which `permissions:` a workflow job needs, by endpoint; the first match wins.
_PERMISSION_HINTS = [
    (re.compile(r"/issues/(\d+/)?comments"),
     "`permissions: pull-requests: write` (or `issues: write`)"),
    (re.compile(r"/statuses/"), "`permissions: statuses: write`"),
    (re.compile(r"/check-runs"), "`permissions: checks: write`"),
    (re.compile(r"/releases"), "`permissions: contents: write`"),
    (re.compile(r"/actions/"), "`permissions: actions: read`"),
    (re.compile(r"/pulls"), "`permissions: pull-requests: read`"),
]


class GitHubClient:
    """A session with GitHub's REST API. Build one per run; it counts its requests."""

    def __init__(
        self,
        api_url: str,
        token: str | None,
        *,
        timeout: float = 30,
        max_retries: int = 5,
        max_wait: float = 60.0,
        user_agent: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import requests

        parts = urlsplit(api_url.rstrip("/"))
        shown = without_credentials(api_url)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise GitHubError(
                f"The GitHub API URL {shown!r} is not an http(s) URL; set GITHUB_API_URL to "
                "https://api.github.com or https://HOST/api/v3 for GitHub Enterprise Server."
            )
        if "@" in parts.netloc:
            raise GitHubError(
                f"The GitHub API URL {shown} carries credentials (user:password@); mlops-ci "
                "authenticates with the token alone. Remove them from GITHUB_API_URL."
            )
        if token:
            check_token(token, source="the token given")
        self.api_url = api_url.rstrip("/")
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self.token_origins = {self._origin}
        self._base_path = parts.path
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.request_count = 0
        self.waited = 0.0  # seconds slept between attempts, over the client's life
        self._sleep = sleep
        self._random = random.Random()
        self._has_token = bool(token)

        self._session = requests.Session()
        self._session.headers.update(
            {
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": user_agent or f"mlops-ci/{__version__}",
            }
        )
        if token:
            self._session.headers["Authorization"] = f"Bearer {token}"

    def __repr__(self) -> str:
        return f"GitHubClient({self.api_url!r})"  # never the token

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- requests ----------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        ok: Collection[int] = (200, 201, 204),
        allow_404: bool = False,
        idempotent: bool | None = None,
        body: Callable[[], Any] | None = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        allow_redirects: bool = True,
    ) -> requests.Response | None:
        """Send one request, retrying what is safe to retry; None for a 404 when ``allow_404``.

        ``path`` is joined onto the API URL, or is a full URL on a :attr:`token_origins` origin
        (a ``Link``, an upload URL). ``idempotent``: whether repeating it is harmless (every
        method but POST, by default). ``body`` makes a fresh body (an upload) per attempt.
        Raises a :class:`GitHubRequestError` subclass for every other outcome.
        """
        import requests

        method = method.upper()
        url = self._url(path)
        shown = self._shown(url)
        retry_safe = method in _RETRY_SAFE_METHODS if idempotent is None else idempotent
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            self.request_count += 1
            started = time.monotonic()
            try:
                response = self._session.request(
                    method, url, params=params, json=json, timeout=self.timeout,
                    data=None if body is None else body(), headers=headers, stream=stream,
                    allow_redirects=allow_redirects,
                )
            except requests.RequestException as exc:
                log.debug("%s %s -> %s (%d ms)", method, shown, type(exc).__name__,
                          ms_since(started))
                failure = describe_failure(exc, self.timeout)
                if not retry_safe and not never_sent(exc):
                    raise GitHubUncertainWriteError(
                        f"GitHub API {method} {shown} failed ({failure}) after the request may "
                        "have reached GitHub; it was not repeated, so that nothing is created "
                        "twice.",
                        method=method, path=shown,
                    ) from None
                waited += self._back_off(attempt, waited, method, shown, failure, None)
                continue

            status = response.status_code
            log.debug("%s %s -> %d (%d ms)", method, shown, status, ms_since(started))
            if status in ok:
                return response
            if status == 404 and allow_404:
                return None

            limit = rate_limit(response)
            if limit is not None:
                waited += self._wait_for_limit(attempt, waited, method, shown, response, *limit)
                continue
            if status >= 500:
                failure = f"{status} {github_message(response) or response.reason}".strip()
                if not retry_safe:
                    raise GitHubUncertainWriteError(
                        f"GitHub API {method} {shown} returned {failure}; GitHub may have applied "
                        "the request anyway, so it was not repeated.",
                        method=method, path=shown, status=status,
                        github_message=github_message(response),
                    )
                waited += self._back_off(attempt, waited, method, shown, failure, status)
                continue
            raise self._error(method, shown, response)

    def get_json(
        self, path: str, params: Mapping[str, Any] | None = None, *, allow_404: bool = False
    ) -> Any:
        """GET ``path`` and return its JSON; None for a 404 when ``allow_404``."""
        return self._json(self.request("GET", path, params=params, allow_404=allow_404))

    def post_json(self, path: str, json: Any, *, idempotent: bool = False) -> Any:
        """POST ``json``; see :class:`GitHubUncertainWriteError` for why it is not retried."""
        return self._json(self.request("POST", path, json=json, idempotent=idempotent))

    def patch_json(self, path: str, json: Any) -> Any:
        """PATCH ``json``: it sets fields to values, so repeating it is harmless."""
        return self._json(self.request("PATCH", path, json=json))

    def paginate(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
        """Every item of a list endpoint, 100 per page, following ``Link: rel="next"``."""
        url: str | None = path
        query: Mapping[str, Any] | None = {"per_page": 100, **(params or {})}
        while url is not None:
            response = self.request("GET", url, params=query)
            assert response is not None  # allow_404 is off
            items = self._json(response)
            if not isinstance(items, list):
                raise GitHubError(
                    f"GitHub API GET {self._shown(response.url)} did not return a list; "
                    "it cannot be paginated."
                )
            yield from items
            url = response.links.get("next", {}).get("url")
            query = None  # the next URL carries the query, page number included

    def get_authenticated_user(self) -> str | None:
        """The token's login, or None when GitHub will not say.

        The GITHUB_TOKEN of a workflow is an installation token, and GET /user answers it with
        403 "Resource not accessible by integration". Comments made with it are signed
        :data:`ACTIONS_BOT_LOGIN`, which is what the sticky-comment layer looks for then.
        """
        try:
            user = self.get_json("/user")
        except GitHubPermissionError:
            return None
        login = user.get("login") if isinstance(user, dict) else None
        return login if isinstance(login, str) else None

    # -- helpers -----------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        if re.match(r"https?://", path):
            # Only ever send the token to the API's own host (Link headers are full URLs).
            if not any(path.startswith(origin + "/") for origin in self.token_origins):
                raise GitHubError(
                    f"GitHub pointed at {urlsplit(path).netloc}, outside {self._origin}; "
                    "mlops-ci does not send the token there."
                )
            return path
        return f"{self.api_url}/{path.lstrip('/')}"

    def _shown(self, url: str) -> str:
        """The endpoint as messages show it: no host, no query (it may hold secrets)."""
        path = urlsplit(url).path
        if self._base_path and path.startswith(self._base_path + "/"):
            path = path[len(self._base_path):]
        return path

    def _json(self, response: requests.Response | None) -> Any:
        if response is None or response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise GitHubError(
                f"GitHub API {response.request.method} {self._shown(response.url)} answered "
                f"{response.status_code} with a body that is not JSON; is GITHUB_API_URL "
                f"({self.api_url}) the REST API?"
            ) from None

    def _back_off(
        self, attempt: int, waited: float, method: str, shown: str, failure: str,
        status: int | None,
    ) -> float:
        """Sleep before retrying a transient failure, or raise when retries are spent."""
        remaining = self.max_wait - waited
        if attempt > self.max_retries or remaining <= 0:
            raise GitHubUnavailableError(
                f"GitHub API {method} {shown} failed {attempt} times, last with {failure}; "
                "GitHub may be having an outage (https://www.githubstatus.com): re-run the job "
                "later.",
                method=method, path=shown, status=status,
            )
        delay = min(self._random.uniform(0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2 ** (attempt - 1))),
                    remaining)
        log.info("GitHub API %s %s: %s; retrying in %.1f s", method, shown, failure, delay)
        return self._pause(delay)

    def _wait_for_limit(
        self, attempt: int, waited: float, method: str, shown: str,
        response: requests.Response, delay: float, reset_at: float | None,
    ) -> float:
        """Sleep until a rate limit lifts, or raise when that is beyond ``max_wait``."""
        message = github_message(response)
        said = f"{response.status_code}{': ' + message if message else ''}"
        kwargs: dict[str, Any] = {"method": method, "path": shown, "status": response.status_code,
                                  "github_message": message or None, "reset_at": reset_at}
        if waited + delay > self.max_wait:
            when = (
                f"resets at {time.strftime('%H:%M:%S UTC', time.gmtime(reset_at))}, "
                f"{delay:.0f} s from now"
                if reset_at is not None
                else f"asks for {delay:.0f} s"
            )
            raise GitHubRateLimitError(
                f"GitHub API {method} {shown} hit a rate limit ({said}); it {when}, longer than "
                f"the {self.max_wait - waited:.0f} s left of the {self.max_wait:.0f} s mlops-ci "
                "may wait: re-run the job after that.",
                **kwargs,
            )
        if attempt > self.max_retries:
            raise GitHubRateLimitError(
                f"GitHub API {method} {shown} was still rate limited after {attempt} attempts "
                f"({said}); re-run the job later.",
                **kwargs,
            )
        log.info("GitHub API %s %s: rate limited (%d); waiting %.0f s", method, shown,
                 response.status_code, delay)
        return self._pause(delay)

    def _pause(self, delay: float) -> float:
        self._sleep(delay)
        self.waited += delay
        return delay

    def _error(self, method: str, shown: str, response: requests.Response) -> GitHubRequestError:
        status = response.status_code
        message = github_message(response)
        head = f"GitHub API {method} {shown} returned {status}"
        if message:
            head += f" ({message})"
        kwargs: dict[str, Any] = {"method": method, "path": shown, "status": status,
                                  "github_message": message or None}
        doc = documentation_url(response)
        see = f" See {doc}." if doc and len(doc) <= _SHORT_DOC_URL else ""
        if status == 401:
            why = "the token is missing or invalid" if self._has_token else "no token was given"
            return GitHubAuthError(
                f"{head}: {why}: set GITHUB_TOKEN or pass --github-token.{see}", **kwargs
            )
        if status == 403:
            permission = next(
                (hint for pattern, hint in _PERMISSION_HINTS if pattern.search(shown)),
                "`permissions: contents: read`",
            )
            return GitHubPermissionError(
                f"{head}: the token lacks permission for this; add {permission} to the workflow "
                "job (a pull request from a fork only gets a read-only token)."
                + see,
                **kwargs,
            )
        if status == 404:
            return GitHubNotFoundError(
                f"{head}: it does not exist, or the token cannot see it (a private repository "
                "needs a token with access to it)." + see,
                **kwargs,
            )
        if status == 422:
            details = validation_details(response)
            return GitHubValidationError(
                f"{head}{': ' + details if details else ''}." + see, **kwargs
            )
        return GitHubRequestError(f"{head}.{see}", **kwargs)
