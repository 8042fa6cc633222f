"""`mlops-ci fetch`: download a release by tag, version or stage, verify it, install it.

Where the tags come from: the git repository around the working directory when there is one
and ``--repo`` is not given (``registry.read_registry``); else the GitHub API for ``--repo``
(or ``$GITHUB_REPOSITORY``), through ``github.tags.read_remote_registry``. The release files
always come from the GitHub release of the resolved tag (``release.fetch``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from mlops_ci.errors import EXIT_OK, InputError

if TYPE_CHECKING:
    from mlops_ci.registry import Registry
    from mlops_ci.release.fetch import Fetched
    from mlops_ci.release.resolve import Resolved

_FULL_NAME = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
# https://HOST/OWNER/NAME(.git) or git@HOST:OWNER/NAME(.git): a remote on a GitHub host
_REMOTE_URL = re.compile(
    r"(?:https?://[^/]+/|ssh://[^/]+/|[^/@:]+@[^/:]+:)"
    r"(?P<name>[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+?)(?:\.git)?/?"
)


def fetch(
    *,
    cwd: Path,
    target: str,
    version: str | None,
    stage: str | None,
    dest: Path | None,
    repo: str | None,
    public_key: Path | None,
    github_token: str | None,
    env: Mapping[str, str],
    stdout: TextIO,
) -> int:
    from mlops_ci.github.actions import write_outputs
    from mlops_ci.github.client import GitHubClient
    from mlops_ci.github.context import DEFAULT_API_URL, read_context
    from mlops_ci.github.publish import protect_token, resolve_token
    from mlops_ci.release.fetch import fetch_release
    from mlops_ci.release.resolve import resolve

    if version is not None and stage is not None:
        raise InputError("Give --version or --stage, not both.")
    ctx = read_context(env)
    token = resolve_token(github_token, env)
    protect_token(token, ctx, stdout)
    root = _local_root(cwd) if repo is None else None
    full_name = _repository(repo, root, env)
    api_url = ctx.api_url if ctx is not None else (env.get("GITHUB_API_URL") or DEFAULT_API_URL)
    with GitHubClient(api_url, token) as client:
        if root is not None:
            from mlops_ci.registry import read_registry

            registry: Registry = read_registry(root)
            where = f"the repository at {root}"
        else:
            from mlops_ci.github.tags import read_remote_registry

            registry = read_remote_registry(client, full_name)
            where = full_name
        resolved = resolve(registry, target, version=version, stage=stage, where=where)
        key, signs = _signing(root, public_key)
        target_dir = dest if dest is not None else cwd / _default_dest(resolved)
        fetched = fetch_release(
            client,
            full_name,
            resolved,
            target_dir,
            public_key=key,
            signing_required=signs,
        )
    for line in fetched_lines(fetched):
        print(line, file=stdout)
    write_outputs(
        {"dest": str(fetched.dest), "version": resolved.version, "tag": fetched.tag}, env
    )
    return EXIT_OK


def _local_root(cwd: Path) -> Path | None:
    """The git repository around *cwd*, or None outside one."""
    from mlops_ci.errors import MlopsError
    from mlops_ci.revisions import find_root

    try:
        return find_root(cwd)
    except MlopsError:
        return None


def _repository(repo: str | None, root: Path | None, env: Mapping[str, str]) -> str:
    """OWNER/NAME of the repository whose releases are fetched."""
    if repo is not None:
        if not _FULL_NAME.fullmatch(repo):
            raise InputError(f"--repo {repo!r} is not OWNER/NAME (e.g. octo-org/churn-model).")
        return repo
    named = env.get("GITHUB_REPOSITORY", "")
    if _FULL_NAME.fullmatch(named):
        return named
    if root is not None:
        origin = _origin_name(root)
        if origin:
            return origin
    if root is None:
        raise InputError(
            "Not in a git repository, and no repository named: pass --repo OWNER/NAME "
            "(the repository whose releases to fetch), or run in its checkout."
        )
    raise InputError(
        "Cannot tell which GitHub repository holds the releases (no GITHUB_REPOSITORY, and "
        "the remote origin is not a GitHub URL); pass --repo OWNER/NAME."
    )


def _origin_name(root: Path) -> str | None:
    from mlops_ci.errors import MlopsError
    from mlops_ci.proc import git

    try:
        url = git("remote", "get-url", "origin", cwd=root).strip()
    except MlopsError:
        return None
    match = _REMOTE_URL.fullmatch(url)
    return match["name"] if match else None


def _signing(root: Path | None, public_key: Path | None) -> tuple[Path | None, bool]:
    """The public key to verify with, and whether the repository says it signs its releases.

    ``--public-key`` wins; inside the repository, ``release.signing`` of its mlops.yaml says
    that it signs, and ``release.signing.public_key`` (a path in the repository) is the key.
    """
    if root is None:
        return public_key, False
    signing = _signing_config(root)
    if signing is None:
        return public_key, False
    if public_key is not None:
        return public_key, True
    configured = getattr(signing, "public_key", None)
    if isinstance(configured, str) and configured:
        from mlops_ci.security import resolve_inside

        return resolve_inside(root, configured, what="release.signing.public_key"), True
    return None, True


def _signing_config(root: Path) -> Any:
    """``config.release.signing`` of the repository's mlops.yaml, or None."""
    from mlops_ci.config import CONFIG_FILENAME, load_config

    path = root / CONFIG_FILENAME
    if not path.is_file():
        return None
    config = load_config(path, pipeline=False)
    release = getattr(config, "release", None)
    return getattr(release, "signing", None) if release is not None else None


def _default_dest(resolved: Resolved) -> str:
    name = resolved.artifact.replace("/", "-").replace(":", "-") or "model"
    return f"{name}-{resolved.version}"


def fetched_lines(fetched: Fetched) -> list[str]:
    """What `fetch` prints: the release, where it went, and what it passed."""
    from mlops_ci.security import log_safe

    resolved = fetched.resolved
    via = f" (stage {resolved.stage})" if resolved.stage else ""
    stages = f"; now in {', '.join(resolved.stages)}" if resolved.stages else ""
    check = "SHA256SUMS and signature verified" if fetched.signed else "SHA256SUMS verified"
    lines = [
        f"Fetched {resolved.label}{via} from tag {fetched.tag}, commit {resolved.commit[:12]}"
        f"{stages}",
        f"  into {fetched.dest} ({len(fetched.files)} files; {check})",
    ]
    verdict = _verdict(fetched.evidence)
    if verdict:
        lines.append(f"  verdict at release: {verdict}")
    if fetched.release_url:
        lines.append(f"  release: {fetched.release_url}")
    return [log_safe(line) for line in lines]


def _verdict(evidence: dict[str, Any] | None) -> str | None:
    if not evidence:
        return None
    verdict = evidence.get("verdict")
    if not isinstance(verdict, dict):
        return None
    status = verdict.get("status")
    summary = verdict.get("summary")
    if not isinstance(status, str):
        return None
    return f"{status} ({summary})" if isinstance(summary, str) and summary else status
