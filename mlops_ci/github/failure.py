"""Publish a run that failed before its report existed, on GitHub Actions.

`mlops-ci run` calls :func:`publish_failure` with the error, then raises the error again: the
entry point prints it and exits with its code, as it would off Actions. Here the reviewer is
told too: the job summary says the run failed and why, the step output ``verdict`` is
``error``, an ``::error`` annotation points at the stage in dvc.yaml or the key in mlops.yaml,
and the sticky comment says so, keeping the last complete report folded.

Publishing a failure never hides it: whatever goes wrong here becomes one warning on the log,
and the original error (and exit code) stands.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from mlops_ci.errors import ConfigError, MlopsError, PipelineError, RepositoryError
from mlops_ci.github.actions import annotation, append_step_summary, write_outputs
from mlops_ci.github.failure_body import (
    MAX_MESSAGE_CHARS,
    Failure,
    bounded,
    failure_comment_body,
    failure_markdown,
)
from mlops_ci.security import log_safe, mask_secrets

if TYPE_CHECKING:
    from mlops_ci.config import CommentConfig
    from mlops_ci.errors import Location
    from mlops_ci.github.context import RunnerContext

log = logging.getLogger(__name__)

TITLE = "mlops-ci: the run failed"


def describe_failure(
    exc: MlopsError, *, root: Path | None, env: Mapping[str, str], secrets: set[str]
) -> Failure:
    """*exc* as the reviewer reads it: what kind of failure, where, and its output's tail."""
    from mlops_ci.pipeline_location import failure_location

    output = getattr(exc, "output_tail", "") if isinstance(exc, PipelineError) else ""
    location = exc.location
    if location is None and root is not None and isinstance(exc, PipelineError):
        location = failure_location(root, exc, output)
    kind = (
        "a configuration error" if isinstance(exc, ConfigError)
        else "a pipeline failure (`dvc repro`)" if isinstance(exc, PipelineError)
        else "a repository error" if isinstance(exc, RepositoryError)
        else "an error"
    )
    return Failure(
        kind=kind,
        message=mask_secrets(str(exc), secrets),
        output=mask_secrets(output, secrets),
        file=_shown(location, root, env),
        line=location.line if location else None,
        key=location.key if location else None,
        exit_code=exc.exit_code,
    )


def _shown(location: Location | None, root: Path | None, env: Mapping[str, str]) -> str | None:
    """The file's path as annotations need it: relative to the workspace (else the repo)."""
    if location is None:
        return None
    path = location.file
    for base in (env.get("GITHUB_WORKSPACE", ""), str(root or "")):
        if base and path.is_absolute():
            try:
                return path.resolve().relative_to(Path(base).resolve()).as_posix()
            except (ValueError, OSError):
                continue
    return None if path.is_absolute() else path.as_posix()


def failure_annotation(failure: Failure) -> str:
    """One ``::error`` line: the command's escaping keeps the message on that line."""
    title = TITLE if failure.key is None else f"{TITLE}: {bounded(failure.key, 100)}"
    return annotation(
        "error", bounded(failure.message, MAX_MESSAGE_CHARS), file=failure.file,
        line=failure.line if failure.file else None, title=title,
    )


def publish_failure(
    exc: MlopsError,
    *,
    ctx: RunnerContext,
    root: Path | None,
    comment: CommentConfig | None,
    token: str | None,
    env: Mapping[str, str],
    stdout: TextIO,
    recheck_delay: float = 1.0,
) -> str | None:
    """Tell the reviewer that the run failed with *exc*; the comment's URL, if one was written.

    Never raises: a step that fails is one warning, and the caller re-raises *exc*.
    """
    from mlops_ci.security import known_secrets

    secrets = known_secrets(env, token)
    failure = describe_failure(exc, root=root, env=env, secrets=secrets)
    head_sha = ctx.pr_head_sha or ctx.sha
    notes: list[str] = []
    url = None
    settings = comment or _comment_settings(root)
    if ctx.pr_number is not None and settings.mode != "off" and token:
        try:
            url = _comment(failure, ctx=ctx, comment=settings, token=token, env=env,
                           head_sha=head_sha, recheck_delay=recheck_delay)
        except Exception as problem:  # the run's own error comes first
            notes.append(_warning("could not update the pull request comment", problem))
    try:
        append_step_summary(failure_markdown(failure, head_sha=head_sha, run_url=ctx.run_url),
                            env)
        outputs = {"verdict": "error", "failed-gates": json.dumps([])}
        if url:
            outputs["comment-url"] = url
        write_outputs(outputs, env)
    except Exception as problem:
        notes.append(_warning("could not write the job summary or the step outputs", problem))
    for line in [failure_annotation(failure), *notes]:
        print(mask_secrets(line, secrets), file=stdout)
    stdout.flush()
    return url


def _warning(what: str, problem: Exception) -> str:
    log.debug("publishing the failure failed", exc_info=problem)
    text = str(problem) if isinstance(problem, MlopsError) else type(problem).__name__
    return annotation("warning", log_safe(f"mlops-ci {what}: {text}"),
                      title="mlops-ci: failure not published")


def _comment(
    failure: Failure, *, ctx: RunnerContext, comment: CommentConfig, token: str,
    env: Mapping[str, str], head_sha: str | None, recheck_delay: float,
) -> str | None:
    from mlops_ci.github.comments import publish_comment
    from mlops_ci.github.publish import log_request_count, open_client

    assert ctx.pr_number is not None

    def render(previous: str | None) -> str:
        # mode "new" posts a comment of its own: no report of another comment folded in
        return failure_comment_body(
            failure, key=comment.key, previous_body=previous if comment.mode == "update" else None,
            head_sha=head_sha, run_url=ctx.run_url,
        )

    with open_client(ctx, token, env) as client:
        try:
            result = publish_comment(
                client, owner=ctx.owner, repo=ctx.repo, number=ctx.pr_number, key=comment.key,
                mode=comment.mode, render=render, recheck_delay=recheck_delay,
            )
        finally:
            log_request_count(client)
    return result.url if result is not None else None


def _comment_settings(root: Path | None) -> CommentConfig:
    """``comment:`` of an mlops.yaml that failed to load, as far as it can be read.

    A configuration error elsewhere in the file must not post to another key's comment; what
    cannot be read here is the default.
    """
    from mlops_ci.config import CONFIG_FILENAME, CommentConfig
    from mlops_ci.config_yaml import parse_document
    from mlops_ci.github.comments import check_key
    from mlops_ci.security import read_regular_file

    default = CommentConfig()
    if root is None:
        return default
    try:
        data = read_regular_file(root / CONFIG_FILENAME, what="mlops.yaml", limit=256 * 1024)
        document, _ = parse_document(data.decode("utf-8"), CONFIG_FILENAME)
    except (MlopsError, OSError, UnicodeDecodeError, RecursionError):
        return default
    section = document.get("comment") if isinstance(document, dict) else None
    if not isinstance(section, dict):
        return default
    key, mode = section.get("key", default.key), section.get("mode", default.mode)
    try:
        check_key(key)
    except MlopsError:
        key = default.key
    return CommentConfig(mode=mode if mode in ("update", "new", "off") else default.mode, key=key)
