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
"""

from __future__ import annotations

import email.utils
import logging
import random
import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from mlops_ci import __version__
from mlops_ci.errors import GitHubError
from mlops_ci.security import mask_secrets

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
_SECONDARY_LIMIT_WAIT = 60.0  # GitHub: without Retry-After, wait at least one minute
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


class GitHubRequestError(GitHubError):
    """A request failed; ``status`` is None when no answer came back."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status: int | None = None,
        github_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.status = status
        self.github_message = github_message


class GitHubAuthError(GitHubRequestError):
    """401: the token is missing, expired or invalid."""


class GitHubPermissionError(GitHubRequestError):
    """403, not a rate limit: the token may not do this (a fork's pull request, for one)."""


class GitHubNotFoundError(GitHubRequestError):
    """404: it does not exist, or the token cannot see it."""


class GitHubValidationError(GitHubRequestError):
    """422: GitHub understood the request and refused its content."""


class GitHubRateLimitError(GitHubRequestError):
    """A rate limit that lasts longer than the client may wait; ``reset_at`` is epoch seconds."""

    def __init__(self, message: str, *, reset_at: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reset_at = reset_at


class GitHubUnavailableError(GitHubRequestError):
    """GitHub did not answer, or answered 5xx, on every attempt."""


class GitHubUncertainWriteError(GitHubUnavailableError):
    """A request that is unsafe to repeat failed after it may have reached GitHub.

    GitHub may or may not have applied it. Look before repeating it: list what the request would
    have created and post again only if it is not there.
    """

    may_have_succeeded = True


def check_token(token: str, *, source: str) -> str:
    """*token* if it can be a token: printable ASCII, no space. ConfigError otherwise.

    HTTP libraries reject such a header with a message that quotes it, so it is refused
    first, in words that never show it. *source* names where it came from.
    """
    from mlops_ci.errors import ConfigError

    for index, char in enumerate(token):
        if "!" <= char <= "~":
            continue
        what = {"\n": "a line break", "\r": "a carriage return", " ": "a space",
                "\t": "a tab"}.get(char)
        if what is None:
            what = "a control character" if char.isascii() else "a non-ASCII character"
        where = "at its end" if index == len(token) - 1 else f"at character {index + 1}"
        raise ConfigError(
            f"The GitHub token from {source} holds {what} ({where}), which no token has; set "
            "the secret again without it (a copied token often ends with a line break)."
        )
    return token


def without_credentials(url: str) -> str:
    """*url* with any ``user:password@`` taken out, for messages."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


class SecretFilter(logging.Filter):
    """Replaces every secret it knows with ``***`` in the records that pass its handler."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = {s for s in secrets if s}

    def mask(self, text: str) -> str:
        return mask_secrets(text, self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        return True


def mask_secret(
    token: str | None, handlers: Iterable[logging.Handler] | None = None
) -> SecretFilter:
    """Mask ``token`` on ``handlers`` (default: the root logger's), and return the filter.

    A handler filter sees every record that reaches the handler, whichever logger made it; call
    this once logging is configured, and add the filter to handlers created later.
    """
    secret_filter = SecretFilter([token] if token else [])
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        handler.addFilter(secret_filter)
    return secret_filter


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
    ) -> requests.Response | None:
        """Send one request, retrying what is safe to retry; None for a 404 when ``allow_404``.

        ``path`` is joined onto the API URL, or is a full URL on the same host (a ``Link``).
        ``idempotent`` says whether repeating the request is harmless; by default every method
        but POST is. Raises a :class:`GitHubRequestError` subclass for every other outcome.
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
                    method, url, params=params, json=json, timeout=self.timeout
                )
            except requests.RequestException as exc:
                log.debug("%s %s -> %s (%d ms)", method, shown, type(exc).__name__,
                          _ms_since(started))
                failure = _describe(exc, self.timeout)
                if not retry_safe and not _never_sent(exc):
                    raise GitHubUncertainWriteError(
                        f"GitHub API {method} {shown} failed ({failure}) after the request may "
                        "have reached GitHub; it was not repeated, so that nothing is created "
                        "twice.",
                        method=method, path=shown,
                    ) from None
                waited += self._back_off(attempt, waited, method, shown, failure, None)
                continue

            status = response.status_code
            log.debug("%s %s -> %d (%d ms)", method, shown, status, _ms_since(started))
            if status in ok:
                return response
            if status == 404 and allow_404:
                return None

            limit = _rate_limit(response)
            if limit is not None:
                waited += self._wait_for_limit(attempt, waited, method, shown, response, *limit)
                continue
            if status >= 500:
                failure = f"{status} {_github_message(response) or response.reason}".strip()
                if not retry_safe:
                    raise GitHubUncertainWriteError(
                        f"GitHub API {method} {shown} returned {failure}; GitHub may have applied "
                        "the request anyway, so it was not repeated.",
                        method=method, path=shown, status=status,
                        github_message=_github_message(response),
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
            if not path.startswith(self._origin + "/"):
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
        message = _github_message(response)
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
        message = _github_message(response)
        head = f"GitHub API {method} {shown} returned {status}"
        if message:
            head += f" ({message})"
        kwargs: dict[str, Any] = {"method": method, "path": shown, "status": status,
                                  "github_message": message or None}
        doc = _documentation_url(response)
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
            details = _validation_details(response)
            return GitHubValidationError(
                f"{head}{': ' + details if details else ''}." + see, **kwargs
            )
        return GitHubRequestError(f"{head}.{see}", **kwargs)


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _github_message(response: requests.Response) -> str:
    message = _body(response).get("message")
    return " ".join(message.split()) if isinstance(message, str) else ""


def _documentation_url(response: requests.Response) -> str:
    url = _body(response).get("documentation_url")
    return url if isinstance(url, str) else ""


def _validation_details(response: requests.Response) -> str:
    """GitHub's ``errors`` list of a 422, as one phrase."""
    parts = []
    for error in _body(response).get("errors") or []:
        if isinstance(error, str):
            parts.append(error)
        elif isinstance(error, dict):
            text = error.get("message") or " ".join(
                str(error[key]) for key in ("resource", "field", "code") if error.get(key)
            )
            parts.append(str(text))
    return "; ".join(" ".join(p.split()) for p in parts if p)


def _parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: an integer, or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - time.time(), 0.0)


def _rate_limit(response: requests.Response) -> tuple[float, float | None] | None:
    """(seconds to wait, epoch when the limit resets) if the answer is a rate limit, else None."""
    if response.status_code not in (403, 429):
        return None
    retry_after = _parse_retry_after(response.headers.get("Retry-After"))
    if retry_after is not None:
        return retry_after, time.time() + retry_after
    if response.headers.get("x-ratelimit-remaining") == "0":
        try:
            reset = float(response.headers["x-ratelimit-reset"])
        except (KeyError, ValueError):
            return _SECONDARY_LIMIT_WAIT, None
        # +1: the reset time is in whole seconds, and our clock is not GitHub's.
        return max(reset - time.time(), 0.0) + 1, reset
    if response.status_code == 429 or "secondary rate limit" in _github_message(response).lower():
        return _SECONDARY_LIMIT_WAIT, None
    return None


def _never_sent(exc: Exception) -> bool:
    """True when the connection was never established, so GitHub cannot have seen the request."""
    import requests
    from urllib3.exceptions import NewConnectionError

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = getattr(exc.args[0] if exc.args else None, "reason", None)
        return isinstance(reason, NewConnectionError)
    return False


def _describe(exc: Exception, timeout: float) -> str:
    import requests

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"no connection within {timeout:g} s"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connection failed" if _never_sent(exc) else "connection lost"
    return type(exc).__name__
