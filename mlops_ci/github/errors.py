"""The errors of a GitHub request, by what went wrong: each names what the caller can do."""

from __future__ import annotations

from typing import Any

from mlops_ci.errors import GitHubError


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
