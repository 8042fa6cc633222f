"""The doctor's look at a GitHub token: may it do what mlops-ci does with one?

One request, ``GET /repos/{owner}/{repo}`` (through the project's REST client, so
``GITHUB_API_URL`` is honoured and the token never reaches a message). What GitHub says back:

- a classic token (``ghp_``, ``gho_``) lists its scopes in the ``X-OAuth-Scopes`` header;
- the ``permissions`` of the repository say what the account may do there (``push``);
- a fine-grained token (``github_pat_``) or an installation token (``ghs_``, the
  ``GITHUB_TOKEN`` of a workflow) has permissions GitHub does not show: they are set in the
  token's settings or the workflow's ``permissions:``, which the workflows check reads.

What mlops-ci does with the token: the pull-request comment (``pull-requests: write``, or the
``repo``/``public_repo`` scope), the commit status (``statuses: write``, ``repo:status``) and
releases (``contents: write``, ``repo``/``public_repo``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_ci.doctor import Finding, Level

REQUEST_TIMEOUT = 10.0
_FULL_NAME = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
# https://HOST/OWNER/REPO(.git), ssh://git@HOST(:PORT)/OWNER/REPO(.git), git@HOST:OWNER/REPO(.git)
_REMOTE_URL = re.compile(
    r"^(?:[a-z+]+://(?:[^@/]+@)?[^/]+/|[^@/]+@[^:/]+:)"
    r"(?P<owner>[A-Za-z0-9_.-]+)/(?P<repo>[A-Za-z0-9_.-]+?)(?:\.git)?/?$"
)


@dataclass(frozen=True)
class Use:
    """One thing mlops-ci does with the token."""

    check: str
    permission: str  # fine-grained / installation permission
    scopes: tuple[str, ...]  # classic scopes that allow it (public_repo: public repositories)
    needs_push: bool  # the account must be allowed to push


USES = (
    Use("pull-request comment", "pull-requests: write", ("repo", "public_repo"), False),
    Use("commit status", "statuses: write", ("repo", "repo:status"), True),
    Use("release", "contents: write", ("repo", "public_repo"), True),
)


def token_kind(token: str) -> str:
    """What GitHub's token prefix says the token is."""
    for prefix, kind in (
        ("github_pat_", "fine-grained personal access token"),
        ("ghp_", "classic personal access token"),
        ("gho_", "OAuth token"),
        ("ghs_", "installation token (GITHUB_TOKEN or a GitHub App's)"),
        ("ghu_", "GitHub App user token"),
    ):
        if token.startswith(prefix):
            return kind
    return "token"


def repository_of(root: Path, env: Mapping[str, str]) -> str | None:
    """owner/name: $GITHUB_REPOSITORY, else the one the `origin` remote points at."""
    from mlops_ci.proc import git

    named = env.get("GITHUB_REPOSITORY", "").strip()
    if _FULL_NAME.fullmatch(named):
        return named
    url = git("remote", "get-url", "origin", cwd=root, check=False)
    found = _REMOTE_URL.match(url.strip())
    return f"{found['owner']}/{found['repo']}" if found else None


def check_token(root: Path, token: str | None, *, env: Mapping[str, str]) -> list[Finding]:
    from mlops_ci.errors import GitHubError
    from mlops_ci.github.client import GitHubClient
    from mlops_ci.github.context import DEFAULT_API_URL
    from mlops_ci.github.errors import GitHubAuthError, GitHubNotFoundError

    if not token:
        return [Finding("token", "token", "info", "No token given: its permissions were not "
                        "checked.", fix="Set GITHUB_TOKEN (or pass --github-token) to check it.")]
    repository = repository_of(root, env)
    if repository is None:
        return [Finding(
            "token", "token", "info",
            "No GitHub repository to check the token on: no $GITHUB_REPOSITORY, and the "
            "`origin` remote names none.",
            fix="Set GITHUB_REPOSITORY=OWNER/NAME, or add the GitHub remote as `origin`.",
        )]
    api_url = env.get("GITHUB_API_URL", "").strip() or DEFAULT_API_URL
    kind = token_kind(token)
    try:
        with GitHubClient(api_url, token, timeout=REQUEST_TIMEOUT, max_retries=1,
                          max_wait=REQUEST_TIMEOUT) as client:
            response = client.request("GET", f"/repos/{repository}")
            assert response is not None  # allow_404 is off
            body: Any = response.json()
            scopes_header = response.headers.get("X-OAuth-Scopes")
    except GitHubAuthError:
        return [Finding(
            "token", "token", "blocker",
            f"GitHub ({api_url}) refused the {kind}: it is expired, revoked or mistyped.",
            fix="Create a new token and set it again (GITHUB_TOKEN or the secret the workflow "
            "passes).",
        )]
    except GitHubNotFoundError:
        return [Finding(
            "token", "token", "blocker",
            f"The {kind} cannot see {repository} on {api_url} (404).",
            fix="Give the token access to the repository, or set GITHUB_REPOSITORY to the "
            "right OWNER/NAME.",
        )]
    except (GitHubError, ValueError) as exc:
        return [Finding("token", "token", "warning",
                        f"GitHub ({api_url}) could not be asked about the token: {exc}",
                        fix="Run doctor again where GitHub's API can be reached.")]
    body = body if isinstance(body, dict) else {}
    found = [Finding("token", "token", "ok", f"a {kind} that can see {repository}")]
    found += _uses(kind, body, scopes_header)
    return found


def _uses(kind: str, body: Mapping[str, Any], scopes_header: str | None) -> list[Finding]:
    permissions = body.get("permissions")
    role = permissions if isinstance(permissions, dict) else {}
    may_push: bool | None = (
        any(role.get(k) is True for k in ("push", "maintain", "admin")) if role else None
    )
    public = body.get("private") is False
    installation = kind.startswith("installation")
    scopes = (
        None if scopes_header is None
        else {s.strip() for s in scopes_header.split(",") if s.strip()}
    )
    findings = []
    for use in USES:
        level: Level
        if may_push is False and (use.needs_push or installation):
            level, message = "warning", (
                "read-only: the token may not write to the repository (a pull request from a "
                "fork gets such a token)"
            )
            fix = (
                "Publish from the second workflow of the fork-safe pair (docs/github.md), or "
                f"grant `{use.permission}`."
            )
        elif scopes is not None:
            allowed = {s for s in use.scopes if s != "public_repo" or public}
            if scopes & allowed:
                level, message, fix = "ok", f"allowed (scope {sorted(scopes & allowed)[0]})", None
            else:
                shown = ", ".join(sorted(scopes)) or "none"
                level, message = "warning", (
                    f"the token's scopes ({shown}) do not allow it; it needs "
                    + " or ".join(f"`{s}`" for s in sorted(allowed))
                )
                fix = "Create the token again with the `repo` scope (`public_repo` for a "\
                    "public repository)."
        elif kind.startswith(("fine-grained", "installation", "GitHub App")):
            level, message = "info", (
                f"needs `{use.permission}`, which GitHub does not show for this kind of token"
            )
            fix = (
                f"Grant `{use.permission}` in the job's `permissions:`"
                if installation else f"Grant `{use.permission}` in the token's settings"
            ) + "."
        else:
            level, message, fix = "ok", "the account may do it", None
        findings.append(Finding("token", use.check, level, message, fix=fix))
    return findings
