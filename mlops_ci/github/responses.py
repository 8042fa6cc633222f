"""What a GitHub answer (or its absence) says: its message and documentation URL, a 422's
details, whether it is a rate limit and for how long, whether a failed request can have
reached GitHub at all, and the error a final answer is (with the ``permissions:`` a workflow
job needs). Pure functions of a ``requests`` response or exception."""

from __future__ import annotations

import email.utils
import re
import time
from typing import TYPE_CHECKING, Any

from mlops_ci.github.errors import (
    GitHubAuthError,
    GitHubNotFoundError,
    GitHubPermissionError,
    GitHubRequestError,
    GitHubValidationError,
)

if TYPE_CHECKING:
    import requests

SECONDARY_LIMIT_WAIT = 60.0  # GitHub: without Retry-After, wait at least one minute
_SHORT_DOC_URL = 100

# Which `permissions:` a workflow job needs, by endpoint; the first match wins.
PERMISSION_HINTS = [
    (re.compile(r"/issues/(\d+/)?comments"),
     "`permissions: pull-requests: write` (or `issues: write`)"),
    (re.compile(r"/statuses/"), "`permissions: statuses: write`"),
    (re.compile(r"/check-runs"), "`permissions: checks: write`"),
    (re.compile(r"/releases"), "`permissions: contents: write`"),
    (re.compile(r"/actions/"), "`permissions: actions: read`"),
    (re.compile(r"/pulls"), "`permissions: pull-requests: read`"),
]


def ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def json_body(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def github_message(response: requests.Response) -> str:
    message = json_body(response).get("message")
    return " ".join(message.split()) if isinstance(message, str) else ""


def documentation_url(response: requests.Response) -> str:
    url = json_body(response).get("documentation_url")
    return url if isinstance(url, str) else ""


def validation_details(response: requests.Response) -> str:
    """GitHub's ``errors`` list of a 422, as one phrase."""
    parts = []
    for error in json_body(response).get("errors") or []:
        if isinstance(error, str):
            parts.append(error)
        elif isinstance(error, dict):
            text = error.get("message") or " ".join(
                str(error[key]) for key in ("resource", "field", "code") if error.get(key)
            )
            parts.append(str(text))
    return "; ".join(" ".join(p.split()) for p in parts if p)


def parse_retry_after(value: str | None) -> float | None:
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


def rate_limit(response: requests.Response) -> tuple[float, float | None] | None:
    """(seconds to wait, epoch when the limit resets) if the answer is a rate limit, else None."""
    if response.status_code not in (403, 429):
        return None
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if retry_after is not None:
        return retry_after, time.time() + retry_after
    if response.headers.get("x-ratelimit-remaining") == "0":
        try:
            reset = float(response.headers["x-ratelimit-reset"])
        except (KeyError, ValueError):
            return SECONDARY_LIMIT_WAIT, None
        # +1: the reset time is in whole seconds, and our clock is not GitHub's.
        return max(reset - time.time(), 0.0) + 1, reset
    if response.status_code == 429 or "secondary rate limit" in github_message(response).lower():
        return SECONDARY_LIMIT_WAIT, None
    return None


def never_sent(exc: Exception) -> bool:
    """True when the connection was never established, so GitHub cannot have seen the request."""
    import requests
    from urllib3.exceptions import NewConnectionError

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = getattr(exc.args[0] if exc.args else None, "reason", None)
        return isinstance(reason, NewConnectionError)
    return False


def describe_failure(exc: Exception, timeout: float) -> str:
    import requests

    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"no connection within {timeout:g} s"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connection failed" if never_sent(exc) else "connection lost"
    return type(exc).__name__


def error_for(
    method: str, shown: str, response: requests.Response, *, has_token: bool
) -> GitHubRequestError:
    """The error for a final, unretried answer *response* to ``method shown``."""
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
        why = "the token is missing or invalid" if has_token else "no token was given"
        return GitHubAuthError(
            f"{head}: {why}: set GITHUB_TOKEN or pass --github-token.{see}", **kwargs
        )
    if status == 403:
        permission = next(
            (hint for pattern, hint in PERMISSION_HINTS if pattern.search(shown)),
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
