"""Publish a finished run on GitHub: the sticky comment, the job summary, outputs, annotations.

Outside GitHub Actions (no runner context) nothing here runs, and ``mlops-ci run`` behaves as
it does on a laptop. On Actions the comment is the only part that talks to GitHub's API, and it
is not what decides the job: the gates do. So a comment that fails for want of permission (a
pull request from a fork gets a read-only token) or because GitHub is unavailable becomes one
warning, and the run still writes the summary and the outputs and exits by its gates. A token
that GitHub rejects (401) or a repository or pull request it cannot find (404) is a setting the
user must fix, and fails the run with exit code 2, after the summary and outputs are written.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, TypeVar

from mlops_ci.errors import ConfigError, GitHubError
from mlops_ci.github.actions import (
    add_mask,
    annotation,
    append_step_summary,
    gate_annotations,
    report_outputs,
    write_outputs,
)

if TYPE_CHECKING:
    from mlops_ci.config import CommentConfig
    from mlops_ci.github.client import GitHubClient
    from mlops_ci.github.context import RunnerContext
    from mlops_ci.report import Report

log = logging.getLogger(__name__)

T = TypeVar("T", int, float)

FORKS_DOC_URL = (
    "https://github.com/mlops-ci/mlops-ci/blob/main/docs/github.md"
    "#forks-and-the-two-workflow-pattern"
)


@dataclass(frozen=True)
class RunFiles:
    """What ``mlops-ci run`` wrote, for the outputs and the summary."""

    report_json: Path
    report_md: Path
    model_card: Path | None = None


def resolve_token(token: str | None, env: Mapping[str, str]) -> str | None:
    """``--github-token``, else ``GITHUB_TOKEN``; None when neither is set.

    A token that cannot be one (a line break, a space, a non-ASCII character) is refused
    here, before anything could print it or send it.
    """
    from mlops_ci.github.tokens import check_token

    if token:
        return check_token(token, source="--github-token")
    if env.get("GITHUB_TOKEN"):
        return check_token(env["GITHUB_TOKEN"], source="GITHUB_TOKEN")
    return None


def protect_token(token: str | None, ctx: RunnerContext | None, stdout: TextIO) -> None:
    """Keep the token out of every log: a logging filter, and ``::add-mask::`` on Actions.

    Call it once, before anything untrusted runs: `mlops-ci run` does before the stages.
    """
    from mlops_ci.github.tokens import mask_secret

    if not token:
        return
    mask_secret(token)
    if ctx is not None:
        print(add_mask(token), file=stdout)
        stdout.flush()  # the runner must read the mask before the stages' first line


# How long one request may wait for GitHub in all (retries and rate limits), and how often it
# is retried; a job that would rather fail fast than wait out a rate limit lowers the first.
MAX_WAIT_VARIABLE = "MLOPS_CI_GITHUB_MAX_WAIT"
MAX_RETRIES_VARIABLE = "MLOPS_CI_GITHUB_MAX_RETRIES"


def open_client(ctx: RunnerContext, token: str | None, env: Mapping[str, str]) -> GitHubClient:
    from mlops_ci.github.client import GitHubClient

    return GitHubClient(
        ctx.api_url,
        token,
        max_wait=_env_limit(env, MAX_WAIT_VARIABLE, 60.0, float, "a number of seconds"),
        max_retries=_env_limit(env, MAX_RETRIES_VARIABLE, 5, int, "a whole number of retries"),
    )


def _env_limit(
    env: Mapping[str, str], name: str, default: T, kind: Callable[[str], T], what: str
) -> T:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= 3600:
        raise ConfigError(f"{name}={text!r} must be {what} from 0 to 3600; fix or unset it.")
    return value


def log_request_count(client: GitHubClient) -> None:
    """What ``--debug`` shows: the cost of a run in API requests, retries included."""
    log.debug("%d GitHub API requests", client.request_count)


def annotation_file(report: Report, config_path: Path, env: Mapping[str, str]) -> str:
    """mlops.yaml's path as annotations need it: relative to the workspace root.

    The repository may be checked out in a subdirectory of ``GITHUB_WORKSPACE``; an annotation
    whose file is not relative to the workspace shows on no diff.
    """
    workspace = env.get("GITHUB_WORKSPACE", "")
    if workspace:
        try:
            return config_path.resolve().relative_to(Path(workspace).resolve()).as_posix()
        except (ValueError, OSError):
            pass
    return report.config_file


def is_configuration_error(exc: GitHubError) -> bool:
    """True for failures the user must fix (a bad token, a wrong repository or pull request).

    A missing permission (403), a rate limit and an outage are not: the run warns and goes on.
    """
    from mlops_ci.github.errors import (
        GitHubPermissionError,
        GitHubRateLimitError,
        GitHubUnavailableError,
    )

    return not isinstance(
        exc, GitHubPermissionError | GitHubRateLimitError | GitHubUnavailableError
    )


def comment_warning(exc: GitHubError, ctx: RunnerContext, number: int) -> str:
    """The one warning a run prints when its comment could not be written."""
    from mlops_ci.github.errors import GitHubPermissionError

    if isinstance(exc, GitHubPermissionError):
        why = (
            "this pull request comes from a fork, and its token is read-only"
            if ctx.is_fork
            else "the token may not write to it (the job needs `permissions: pull-requests: "
            "write`, and pull requests from forks only ever get a read-only token)"
        )
        message = (
            f"mlops-ci could not comment on pull request #{number}: {why}; the report is in the "
            f"job summary, and the two-workflow pattern posts the comment: {FORKS_DOC_URL}"
        )
    else:
        message = (
            f"mlops-ci could not comment on pull request #{number}: {exc} The report is in the "
            "job summary; re-run the job to post the comment."
        )
    return annotation("warning", message, title="mlops-ci: no pull request comment")


def publish_run(
    report: Report,
    *,
    ctx: RunnerContext | None,
    files: RunFiles,
    config_path: Path,
    comment: CommentConfig,
    template_dir: Path | None,
    token: str | None,
    env: Mapping[str, str],
    stdout: TextIO,
    recheck_delay: float = 1.0,
) -> str | None:
    """Everything ``mlops-ci run`` publishes on Actions; returns the comment's URL, if any.

    Writes the comment first (its URL is an output), then the summary, the outputs and the
    annotations, whatever became of the comment; a configuration error (401, 404) is raised
    only after them, so the report still reaches the job summary. The caller has already
    masked *token* (:func:`protect_token`).
    """
    if ctx is None:
        return None
    notes: list[str] = []
    error: GitHubError | None = None
    comment_url = None
    number = ctx.pr_number
    if number is not None and comment.mode != "off":
        if not token:
            notes.append(annotation(
                "notice",
                f"mlops-ci did not comment on pull request #{number}: no GitHub token was "
                "given; set GITHUB_TOKEN or pass --github-token.",
                title="mlops-ci: no pull request comment",
            ))
        else:
            try:
                comment_url = _comment(
                    report, ctx=ctx, number=number, comment=comment, template_dir=template_dir,
                    token=token, env=env, recheck_delay=recheck_delay,
                )
            except GitHubError as exc:
                if is_configuration_error(exc):
                    error = exc
                else:
                    notes.append(comment_warning(exc, ctx, number))

    append_step_summary(files.report_md.read_text(encoding="utf-8"), env)
    write_outputs(
        report_outputs(
            report, report_json=files.report_json, report_md=files.report_md,
            model_card=files.model_card, comment_url=comment_url,
        ),
        env,
    )
    located = dataclasses.replace(report, config_file=annotation_file(report, config_path, env))
    for line in [*gate_annotations(located), *notes]:
        print(line, file=stdout)
    if error is not None:
        raise error
    return comment_url


def _comment(
    report: Report,
    *,
    ctx: RunnerContext,
    number: int,
    comment: CommentConfig,
    template_dir: Path | None,
    token: str,
    env: Mapping[str, str],
    recheck_delay: float,
) -> str | None:
    from mlops_ci.github.comments import comment_body, publish_comment

    def render(previous: str | None) -> str:
        return comment_body(
            report, key=comment.key, previous_body=previous, head_sha=ctx.pr_head_sha,
            run_url=ctx.run_url, template_dir=template_dir,
        )

    with open_client(ctx, token, env) as client:
        try:
            result = publish_comment(
                client, owner=ctx.owner, repo=ctx.repo, number=number, key=comment.key,
                mode=comment.mode, render=render, recheck_delay=recheck_delay,
            )
        finally:
            log_request_count(client)
    return result.url if result is not None else None
