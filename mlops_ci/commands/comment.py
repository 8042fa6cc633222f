"""`mlops-ci comment`: publish a report.json that another run wrote, as the sticky comment.

This is the second half of the fork-safe two-workflow pattern: a ``pull_request`` workflow runs
the pipeline with a read-only token and uploads ``report.json`` and the pull request's number as
an artifact; a ``workflow_run`` workflow, which has a token that may write, downloads them and
runs this command. Whoever opened the pull request wrote that artifact, so it is untrusted:

- the report is validated against the Report schema, and it must be the report of the commit
  the triggering run built (its ``head.rev``), which must be the pull request's head;
- its base values are thrown away too: the metrics of the pull request's base commit (as
  GitHub's API names it) are read in the working directory, the base repository's checkout
  (see ``trusted_base``); when that commit cannot be read there, the relative gates fail;
- its own verdict and gate results are thrown away: its metrics are judged again with the
  gates of the trusted mlops.yaml in the working directory (the base repository's checkout);
  without one, no success is ever set (the status is ``error``);
- everything from it is rendered as inert text (see ``render_untrusted``), below a note that
  says which run computed the numbers and who judged them.

The command then sets the verdict as a commit status (or check run) on that commit.

Exit code 0 when published (whatever the verdict: the status carries it), 2 when the input or
a GitHub setting is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from mlops_ci.errors import EXIT_OK, GitHubError, InputError

if TYPE_CHECKING:
    from mlops_ci.config import Config
    from mlops_ci.github.client import GitHubClient
    from mlops_ci.github.context import RunnerContext
    from mlops_ci.report import Report

MAX_REPORT_BYTES = 20 * 1024 * 1024  # far above any real report; refuses a flooding artifact
_PR_NUMBER = re.compile(r"[1-9][0-9]{0,9}")
_SHA = re.compile(r"[0-9a-f]{40}")
_MAX_REF = 255  # git allows longer names; GitHub's branch names stay within this


def comment(
    *,
    cwd: Path,
    report_path: Path,
    pr: str | None,
    key: str | None,
    github_token: str | None,
    check_run: bool,
    env: Mapping[str, str],
    stdout: TextIO,
    stderr: TextIO,
    recheck_delay: float = 1.0,
) -> int:
    from mlops_ci.config import CommentConfig
    from mlops_ci.github.actions import append_step_summary, report_outputs, write_outputs
    from mlops_ci.github.comments import check_key, comment_body, provenance, publish_comment
    from mlops_ci.github.context import read_context
    from mlops_ci.github.publish import (
        log_request_count,
        open_client,
        protect_token,
        resolve_token,
    )
    from mlops_ci.github.status import check_name, publish_verdict
    from mlops_ci.history import trusted_history
    from mlops_ci.rejudge import rejudge
    from mlops_ci.render_untrusted import render_untrusted_report_md
    from mlops_ci.report import load_report
    from mlops_ci.trusted_base import read_trusted_base, rebase

    ctx = read_context(env)
    if ctx is None:
        raise InputError(
            "`mlops-ci comment` publishes from a GitHub Actions run, and GITHUB_ACTIONS is not "
            "\"true\"; locally, read the report.md that `mlops-ci run` wrote."
        )
    _check_size(report_path)
    report = load_report(report_path)
    number = parse_pr_number(pr) if pr is not None else ctx.pr_number
    if number is None:
        raise InputError(
            f"No pull request number: the {ctx.event_name} event names none; pass --pr with the "
            "number the pull_request workflow saved in its artifact."
        )
    head_sha = ctx.pr_head_sha
    if head_sha is None:
        raise InputError(
            f"`mlops-ci comment` runs on workflow_run or pull_request events; a {ctx.event_name} "
            "event names no head commit to check the pull request against."
        )
    check_report_head(report, head_sha)
    config = trusted_config(cwd)
    settings = config.comment if config is not None else CommentConfig()
    template_dir = config.user_template_dir if config is not None else None
    key = check_key(key if key is not None else settings.key)
    token = resolve_token(github_token, env)
    if not token:
        raise GitHubError(
            "No GitHub token to comment with: set GITHUB_TOKEN or pass --github-token."
        )
    protect_token(token, ctx, stdout)

    with open_client(ctx, token, env) as client:
        try:
            base_sha, base_ref = check_pull_request(client, ctx, number, head_sha)
            head_files = list(dict.fromkeys(m.file for m in report.metrics))
            base = read_trusted_base(cwd, base_sha, base_ref, config, head_files)
            judgement = rejudge(
                rebase(report, base, config), config, base_rev=base.sha, base_problem=base.problem
            )
            report = trusted_history(cwd, config, judgement.report)  # not the artifact's
            preface = provenance(
                judgement, run_url=triggering_run_url(ctx), status_name=check_name(key)
            )
            markdown = preface + render_untrusted_report_md(report, template_dir)

            def render(previous: str | None) -> str:
                return comment_body(
                    report, key=key, previous_body=previous, head_sha=head_sha,
                    run_url=ctx.run_url, template_dir=template_dir, untrusted=True,
                    preface=preface,
                )

            result = publish_comment(
                client, owner=ctx.owner, repo=ctx.repo, number=number, key=key,
                mode=settings.mode, render=render, recheck_delay=recheck_delay,
            )
            verdict = publish_verdict(
                client, owner=ctx.owner, repo=ctx.repo, sha=head_sha, key=key, report=report,
                markdown=markdown, target_url=ctx.run_url, check_run=check_run,
                trusted=judgement.trusted,
            )
        finally:
            log_request_count(client)

    comment_url = result.url if result is not None else None
    append_step_summary(markdown, env)
    outputs = report_outputs(
        report, report_json=report_path, report_md="", comment_url=comment_url
    )
    write_outputs({k: v for k, v in outputs.items() if k != "report-md"}, env)
    if result is not None:
        print(f"mlops-ci: {result.action} the comment on pull request #{number}: {result.url}",
              file=stderr)
    print(
        f"mlops-ci: set the {verdict.kind} {verdict.name} to {verdict.state} on {head_sha[:7]}",
        file=stderr,
    )
    return EXIT_OK


def parse_pr_number(text: str) -> int:
    """The pull request number from ``--pr`` (often read from an artifact file): digits only."""
    stripped = text.strip()
    if not _PR_NUMBER.fullmatch(stripped):
        shown = repr(text) if len(text) <= 40 else repr(text[:37]) + "..."
        raise InputError(
            f"--pr {shown} is not a pull request number; pass a positive whole number, the one "
            "the pull_request workflow saved in its artifact."
        )
    return int(stripped)


def check_pull_request(
    client: GitHubClient, ctx: RunnerContext, number: int, head_sha: str
) -> tuple[str, str | None]:
    """Refuse a pull request whose head is not the commit the triggering run built.

    This is what keeps a fork's artifact from commenting on somebody else's pull request.
    Returns the pull request's base commit (40 hex digits) and base branch, as GitHub names
    them: the base the trusted workflow reads, never the artifact's.
    """
    from mlops_ci.github.errors import GitHubNotFoundError

    try:
        pull = client.get_json(f"/repos/{ctx.owner}/{ctx.repo}/pulls/{number}")
    except GitHubNotFoundError:
        raise InputError(
            f"Pull request #{number} does not exist in {ctx.repository}; the artifact's number "
            "is wrong, so nothing was published."
        ) from None
    head = pull.get("head") if isinstance(pull, dict) else None
    sha = head.get("sha") if isinstance(head, dict) else None
    if not isinstance(sha, str) or sha.lower() != head_sha.lower():
        shown = sha[:7] if isinstance(sha, str) else "unknown"
        raise InputError(
            f"Pull request #{number}'s head is {shown}, not {head_sha[:7]}, the commit the "
            "triggering run built: the artifact names another pull request, or the pull request "
            "has moved on since (its newer run reports on it); nothing was published."
        )
    base = pull.get("base") if isinstance(pull, dict) else None
    base_sha = base.get("sha") if isinstance(base, dict) else None
    if not isinstance(base_sha, str) or not _SHA.fullmatch(base_sha.lower()):
        raise InputError(
            f"GitHub's answer for pull request #{number} names no base commit (`base.sha` is "
            "not 40 hexadecimal digits), so its base values cannot be read; nothing was "
            "published."
        )
    ref = base.get("ref") if isinstance(base, dict) else None
    base_ref = ref if isinstance(ref, str) and 0 < len(ref) <= _MAX_REF else None
    return base_sha.lower(), base_ref


def _check_size(path: Path) -> None:
    try:
        size = path.stat().st_size
    except OSError:
        return  # load_report names the problem
    if size > MAX_REPORT_BYTES:
        raise InputError(
            f"{path}: {size:,} bytes is too large for a report.json "
            f"(at most {MAX_REPORT_BYTES:,}); pass the report.json that `mlops-ci run` wrote."
        )


def check_report_head(report: Report, head_sha: str) -> None:
    """Refuse a report of another commit than the one the triggering run built.

    A report carried over from another run (an older push, another pull request) would put
    that run's numbers on this commit's status.
    """
    rev = report.head.rev
    if rev is None or rev.lower() != head_sha.lower():
        shown = rev[:7] if rev else "no commit"
        raise InputError(
            f"The report is of {shown}, not of {head_sha[:7]}, the pull request's head commit "
            "that the triggering run built: it is not that run's report, so nothing was "
            "published. The report workflow must check out the pull request's head "
            "(actions/checkout with ref: github.event.pull_request.head.sha)."
        )


def triggering_run_url(ctx: RunnerContext) -> str | None:
    """The page of the run that computed the report: the workflow_run's, or this run's own."""
    if ctx.pr_from_workflow_run:
        if ctx.workflow_run_id is None:
            return None
        return f"{ctx.server_url}/{ctx.repository}/actions/runs/{ctx.workflow_run_id}"
    return ctx.run_url


def trusted_config(cwd: Path) -> Config | None:
    """mlops.yaml in *cwd*, if the workflow checked one out: the gates, key and templates.

    In the two-workflow pattern that is the base repository's default branch, never the pull
    request's code, so its gates are the ones that judge the report.
    """
    from mlops_ci.config import CONFIG_FILENAME, load_config

    path = cwd / CONFIG_FILENAME
    if not path.is_file():
        return None
    return load_config(path, pipeline=False)  # its gates and comment; the model is the report's
