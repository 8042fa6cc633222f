"""`mlops-ci run`: reproduce, compare with the base, gate, write the report and the card.

On GitHub Actions it then publishes them (github/publish.py): the sticky pull-request comment,
the job summary, the step outputs and one annotation per failed gate.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from mlops_ci.commands.common import (
    MODEL_CARD,
    REPORT_JSON,
    REPORT_MD,
    Project,
    choose_base,
    compute_report,
    exit_code,
    open_project,
    out_dir,
)
from mlops_ci.config import parse_duration
from mlops_ci.errors import InputError, MlopsError
from mlops_ci.files import check_output_directory, write_texts_atomic
from mlops_ci.report import Report
from mlops_ci.repro import repro, repro_timeout
from mlops_ci.repro_options import ReproOptions, check_targets, choose
from mlops_ci.security import known_secrets, log_safe


@dataclass(frozen=True)
class WrittenFiles:
    report_json: Path
    report_md: Path
    model_card: Path


def run(
    *,
    cwd: Path,
    base: str | None,
    reproduce: bool,
    out: Path | None,
    env: Mapping[str, str],
    color: bool,
    stdout: TextIO,
    stderr: TextIO,
    github_token: str | None = None,
    timeout: str | None = None,
    targets: Sequence[str] = (),
    pull: bool | None = None,
    repro_flags: Sequence[str] = (),
) -> int:
    from mlops_ci.github.context import read_context
    from mlops_ci.github.publish import protect_token, resolve_token

    ctx = read_context(env)  # a broken runner environment, before the slow part
    token = resolve_token(github_token, env) if ctx is not None else None
    protect_token(token, ctx, stdout)  # masked before the pull request's code runs
    project: Project | None = None
    try:
        project = open_project(cwd)  # configuration errors stop the run before anything changes
        limit = parse_duration(timeout, what="--timeout") if timeout is not None else None
        directory = out_dir(project, out)
        check_output_directory(directory, what="--out" if out else "The output directory")
        options = _repro_options(project, reproduce, targets, pull, repro_flags)
        choice = choose_base(project, base=base, env=env)  # a wrong base fails before training
        if reproduce:
            _reproduce(project, options, limit, env, token, stderr)
        report = compute_report(project, base=base, env=env, choice=choice)
        written = write_report_files(project, report, directory)
    except MlopsError as exc:
        if ctx is not None:  # the reviewer hears of it too; then the error, as ever
            from mlops_ci.github.failure import publish_failure

            publish_failure(
                exc, ctx=ctx, root=project.root if project else _root_or_none(cwd),
                comment=project.config.comment if project else None, token=token, env=env,
                stdout=stdout,
            )
        raise

    from mlops_ci.render_terminal import render_table

    stdout.write(render_table(report, color=color))
    print(
        log_safe(
            f"mlops-ci: wrote {_shown(written.report_json, cwd)}, "
            f"{_shown(written.report_md, cwd)} and {_shown(written.model_card, cwd)}"
        ),
        file=stderr,
    )
    if not report.gates:
        print(log_safe(no_gates_hint(report, config_found=project.config.found)), file=stderr)
    from mlops_ci.outdir_git import untracked_output_hint

    hint = untracked_output_hint(project.root, written.report_json.parent, written.report_json)
    if hint:
        print(log_safe(hint), file=stderr)
    if ctx is not None:
        from mlops_ci.github.publish import RunFiles, publish_run

        comment_url = publish_run(
            report,
            ctx=ctx,
            files=RunFiles(written.report_json, written.report_md, written.model_card),
            config_path=project.config.path,
            comment=project.config.comment,
            template_dir=project.config.user_template_dir,
            token=token,
            env=env,
            stdout=stdout,
        )
        if comment_url:
            print(log_safe(f"mlops-ci: commented on pull request #{ctx.pr_number}: "
                           f"{comment_url}"), file=stderr)
    return exit_code(report)


def _repro_options(
    project: Project,
    reproduce: bool,
    targets: Sequence[str],
    pull: bool | None,
    flags: Sequence[str],
) -> ReproOptions:
    """--target, --pull and --repro-flag, else `pipeline:` in mlops.yaml."""
    if not reproduce and (targets or pull or flags):
        raise InputError(
            "--target, --pull and --repro-flag tell `dvc repro` what to do, and --no-repro "
            "runs nothing. Leave --no-repro out, or run `dvc pull` yourself first."
        )
    return choose(
        targets=targets, pull=pull, flags=flags, configured=project.config.pipeline.repro
    )


def _reproduce(
    project: Project, options: ReproOptions, limit: float | None, env: Mapping[str, str],
    token: str | None, stderr: TextIO,
) -> None:
    from mlops_ci.reads import check_pipeline_files

    check_pipeline_files(project.root)  # a FIFO or an alias bomb would hang DVC
    check_targets(project.root, options)
    print(log_safe(f"mlops-ci: running `{options.shown()}`"), file=stderr)
    repro(
        project.root,
        stream=stderr,
        timeout=repro_timeout(limit, project.config.pipeline.timeout, env),
        secrets=known_secrets(env, token),
        options=options,
    )


def _root_or_none(cwd: Path) -> Path | None:
    from mlops_ci.revisions import find_root

    try:
        return find_root(cwd)
    except MlopsError:
        return None


def write_report_files(project: Project, report: Report, directory: Path) -> WrittenFiles:
    """Serialise and render everything, then write the three files as a set.

    A report that cannot be serialised, a template error or a target that cannot be written
    leaves the previous files as they were: never a new report.md beside an old report.json.
    """
    from mlops_ci.card import render_card
    from mlops_ci.render import render_report_md
    from mlops_ci.render_plots import root_from

    template_dir = project.config.user_template_dir
    report_json = report.to_json()
    card = render_card(report, template_dir, images_from=root_from(directory, project.root))
    markdown = render_report_md(report, template_dir)
    written = WrittenFiles(
        report_json=directory / REPORT_JSON,
        report_md=directory / REPORT_MD,
        model_card=directory / MODEL_CARD,
    )
    write_texts_atomic(
        {
            written.report_json: report_json,
            written.report_md: markdown,
            written.model_card: card,
        }
    )
    return written


def no_gates_hint(report: Report, *, config_found: bool) -> str:
    """The one line that says how to add gates, with a metric of this report as the example."""
    metric = next((m.name for m in report.metrics if m.change != "removed"), "accuracy")
    example = f"`gates: [{{metric: {metric}, min: 0.9}}]`"
    if config_found:
        return (f"mlops-ci: no gates in {report.config_file}, so nothing was judged; add some, "
                f"e.g. {example} (see docs/configuration.md).")
    return ("mlops-ci: no mlops.yaml, so no gates were checked; to add gates, write mlops.yaml "
            f"with, e.g., {example} (see docs/configuration.md).")


def _shown(path: Path, cwd: Path) -> str:
    try:
        return str(path.resolve().relative_to(cwd.resolve()))
    except ValueError:
        return str(path)
