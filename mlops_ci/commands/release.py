"""`mlops-ci release [--tag TAG] [--dry-run]`: an approved, gate-passing tagged model becomes a
complete GitHub Release.

In order, and nothing written before the checks pass (docs/releases.md):

1. the tag (``--tag`` or ``GITHUB_REF``) is parsed and checked: annotated, on HEAD, naming a
   model of the repository (``release/tagging.py``);
2. the tagged commit is approved: reproducible, every error-severity gate passing against the
   previous release, and reviewed when ``release.require_approvals`` asks (``release/approve.py``);
3. the bundle is assembled and signed in a temporary directory, the notes rendered
   (``release/assemble.py``, ``release/notes.py``);
4. it is published (``release/publish.py``), the GTO tag ``NAME@vX.Y.Z`` of a bare-version
   release written and pushed, and a deployment recorded when ``release.environment`` is set.

``--dry-run`` stops after 3 and prints what would be published; it writes no tag and no file
outside its temporary directory, and sends the API nothing but reads.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from mlops_ci.commands.common import Project, open_project
from mlops_ci.config import Config
from mlops_ci.errors import EXIT_OK, InputError
from mlops_ci.security import CREDENTIAL_VARIABLES, log_safe

if TYPE_CHECKING:
    from mlops_ci.github.client import GitHubClient
    from mlops_ci.github.context import RunnerContext
    from mlops_ci.registry import Version
    from mlops_ci.release.assemble import Bundle
    from mlops_ci.release.tagging import ReleaseRequest
    from mlops_ci.report import Report


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a release publishes."""

    request: ReleaseRequest
    name: str
    notes: str
    bundle: Bundle
    report: Report


def release(
    *,
    cwd: Path,
    tag: str | None,
    dry_run: bool,
    env: Mapping[str, str],
    stdout: TextIO,
    stderr: TextIO,
    github_token: str | None = None,
) -> int:
    from mlops_ci.proc import withheld_from_tools

    with ExitStack() as stack:
        # git and dvc need neither the token (a push gets it in its own header variable) nor
        # a private key: withheld from every subprocess, before the first one runs
        stack.enter_context(withheld_from_tools(_secrets(env)))
        return _release(cwd=cwd, tag=tag, dry_run=dry_run, env=env, stdout=stdout,
                        stderr=stderr, github_token=github_token, stack=stack)


def _secrets(env: Mapping[str, str]) -> set[str]:
    """The variables kept from git and dvc: GitHub's credentials (the token under its usual
    names, the runner's runtime tokens), and any variable that holds a private key."""
    return {
        *CREDENTIAL_VARIABLES,
        *(name for name, value in env.items() if "PRIVATE KEY-----" in value),
    }


def _release(
    *, cwd: Path, tag: str | None, dry_run: bool, env: Mapping[str, str], stdout: TextIO,
    stderr: TextIO, github_token: str | None, stack: ExitStack,
) -> int:
    from mlops_ci.github.context import read_context
    from mlops_ci.github.publish import protect_token, resolve_token
    from mlops_ci.proc import withheld_from_tools
    from mlops_ci.release.tagging import resolve_request, tag_name

    ctx = read_context(env)
    token = resolve_token(github_token, env)
    protect_token(token, ctx, stdout)
    project = open_project(cwd, env)
    signing = project.config.release.signing
    if signing is not None:  # named in mlops.yaml, whatever they hold
        stack.enter_context(withheld_from_tools([signing.key_env, signing.password_env or ""]))
    request = resolve_request(project.root, project.config, tag_name(tag, env))
    if request.released_as is not None:
        print(log_safe(
            f"mlops-ci: {request.tag} is the registry tag of the release {request.released_as}; "
            f"nothing to release (release {request.released_as} itself to check it again)."
        ), file=stderr)
        return EXIT_OK
    config = config_for(project.config, request.artifact)
    if ctx is None and not dry_run:
        raise InputError(
            "`mlops-ci release` publishes from GitHub Actions (the release workflow, on a tag "
            "push). Here, run `mlops-ci release --dry-run` to see what it would publish."
        )
    client = _client(ctx, token, env) if ctx is not None else None
    with tempfile.TemporaryDirectory(prefix="mlops-ci-release-") as staging:
        plan = prepare(
            Project(project.root, config), request, client=client,
            repo=ctx.repository if ctx else None, staging=Path(staging), dry_run=dry_run,
            env=env, token=token, stderr=stderr,
        )
        if dry_run:
            stdout.write(describe(plan))
            return EXIT_OK
        assert ctx is not None and client is not None
        return publish(plan, project.root, config, ctx=ctx, client=client, env=env,
                       token=token, stdout=stdout, stderr=stderr)


def config_for(config: Config, artifact: str) -> Config:
    """The configuration, about the model *artifact* (one of dvc.yaml's models) if not its own."""
    if artifact == config.model.name:
        return config
    from mlops_ci.dvc_yaml import read_dvc_yaml

    pipeline = read_dvc_yaml(config.root)
    found = pipeline.artifact(artifact) if pipeline else None
    assert found is not None  # resolve_request accepted the name
    model = dataclasses.replace(config.model, name=artifact, path=found.path)
    return dataclasses.replace(config, model=model)


def _client(ctx: RunnerContext, token: str | None, env: Mapping[str, str]) -> GitHubClient:
    from mlops_ci.github.publish import open_client

    return open_client(ctx, token, env)


def prepare(
    project: Project,
    request: ReleaseRequest,
    *,
    client: GitHubClient | None,
    repo: str | None,
    staging: Path,
    dry_run: bool,
    env: Mapping[str, str],
    token: str | None,
    stderr: TextIO,
) -> Plan:
    """Approve the tagged commit, then assemble its bundle and notes in *staging*."""
    from mlops_ci.collect import collect_report
    from mlops_ci.release.approve import check_approvals, check_gates, check_reproducible
    from mlops_ci.release.previous import release_base, released_versions
    from mlops_ci.release.tagging import check_gto_tag, check_origin

    root, config = project.root, project.config
    check_reproducible(root, config, pull=not dry_run, stderr=stderr)
    released = released_versions(root, request, client=client, repo=repo)
    base = release_base(root, request, env, released)
    print(log_safe(f"mlops-ci: judging {request.tag} against {base.choice.description} "
                   f"({base.reason})"), file=stderr)
    report = collect_report(root, config, base.choice, env)
    check_gates(report)
    required = config.release.require_approvals
    if required and client is not None and repo is not None:
        approvals = check_approvals(client, repo, request.commit, required)
        print(f"mlops-ci: {approvals} approving reviews (release.require_approvals: {required})",
              file=stderr)
    elif required:
        print("mlops-ci: release.require_approvals is not checked outside GitHub Actions.",
              file=stderr)
    check_gto_tag(root, request)
    try:
        check_origin(root, request, env, token)
    except InputError as exc:
        if not dry_run:
            raise
        print(log_safe(f"mlops-ci: the release itself would be refused here: {exc}"),
              file=stderr)
    bundle, notes = _assemble(project, request, report, base.previous, released.versions,
                              staging, dry_run, env, stderr)
    return Plan(request, f"{request.artifact} {request.version}", notes, bundle, report)


def _assemble(
    project: Project, request: ReleaseRequest, report: Report, previous: Version | None,
    released: Sequence[Version], staging: Path, dry_run: bool, env: Mapping[str, str],
    stderr: TextIO,
) -> tuple[Bundle, str]:
    from mlops_ci.release.assemble import assemble
    from mlops_ci.release.notes import read_history, render_notes
    from mlops_ci.render_untrusted import render_untrusted_card_body

    root, config = project.root, project.config
    signing = config.release.signing
    if dry_run and signing is not None and not env.get(signing.key_env, "").strip():
        print(f"mlops-ci: {signing.key_env} is not set here, so the dry run does not sign; the "
              "release itself must have it.", file=stderr)
        config = dataclasses.replace(
            config, release=dataclasses.replace(config.release, signing=None)
        )
    bundle = assemble(root, config, report, staging / "bundle", artifact=request.artifact,
                      version=request.version, tag=request.tag, env=env)
    history = read_history(root, config, report, released, version=request.version,
                           limit=config.release.history)
    shown = previous.name if previous is not None else None
    notes = render_notes(
        report, artifact=request.artifact, version=request.version, tag=request.tag,
        previous=shown, history=history,
        card_body=render_untrusted_card_body(report, config.user_template_dir),
        signed=bundle.signed,
    )
    return bundle, notes


def describe(plan: Plan) -> str:
    """What --dry-run prints: the release, every file with its size and sha256, the notes."""
    request = plan.request
    lines = [
        "mlops-ci release (dry run): nothing was written or published.",
        f"  tag:        {request.tag}" + (f" (and the registry tag {request.gto_tag})"
                                          if request.single else ""),
        f"  name:       {plan.name}",
        f"  prerelease: {'yes' if request.prerelease else 'no'}",
        f"  commit:     {request.commit}",
        f"  verdict:    {plan.report.verdict.status}",
        f"  signed:     {'yes' if plan.bundle.signed else 'no'}",
        f"  files ({len(plan.bundle.files)}):",
    ]
    from mlops_ci.release.bundle import sha256_file

    width = max(len(name) for name in plan.bundle.files)
    for name, path in plan.bundle.files.items():
        digest = plan.bundle.digests.get(name) or sha256_file(path)
        lines.append(f"    {name:<{width}}  {path.stat().st_size:>12,} bytes  sha256:{digest}")
    lines.append(f"  notes:      {len(plan.notes):,} characters")
    return log_safe("\n".join(lines)) + "\n"


def publish(
    plan: Plan, root: Path, config: Config, *, ctx: RunnerContext, client: GitHubClient,
    env: Mapping[str, str], token: str | None, stdout: TextIO, stderr: TextIO,
) -> int:
    """Publish the release, write the GTO tag, record the deployment, set the step outputs."""
    from mlops_ci.github.actions import append_step_summary, write_outputs
    from mlops_ci.github.releases import find_release
    from mlops_ci.release.publish import publish_release
    from mlops_ci.release.published import verify_published
    from mlops_ci.release.tagging import write_gto_tag

    request = plan.request
    existing = find_release(client, ctx.repository, request.tag)
    if existing is not None and not existing.get("draft"):
        bundle = plan.bundle
        signing = config.release.signing
        result = verify_published(
            client, ctx.repository, existing, names=bundle.files,
            sources={name: bundle.digests[name] for name in bundle.sources},
            signed=signing is not None, public_key=_public_key(root, config),
        )
    else:  # none yet, or the draft an interrupted run left: completed
        result = publish_release(
            client, ctx.repository, tag=request.tag, name=plan.name, body=plan.notes,
            prerelease=request.prerelease, files=plan.bundle.files,
            target_commitish=request.commit, make_latest=_is_latest(client, ctx.repository,
                                                                    request),
        )
    what = "was already published" if result.already_published else "published"
    print(log_safe(f"mlops-ci: release {request.tag} {what}: {result.html_url}"), file=stderr)
    if write_gto_tag(root, request, plan.report, env, token):
        print(log_safe(f"mlops-ci: tagged {request.gto_tag} and pushed it to origin"),
              file=stderr)
    environment = config.release.environment
    if environment and not _deployed(client, ctx.repository, request.tag, environment):
        from mlops_ci.github.deployments import record_deployment

        record_deployment(
            client, ctx.repository, ref=request.tag, environment=environment,
            description=f"{request.artifact} {request.version}",
            payload={"artifact": request.artifact, "version": request.version,
                     "tag": request.tag, "release": result.html_url},
            environment_url=result.html_url, env=env,
        )
        print(log_safe(f"mlops-ci: recorded the deployment of {request.version} to "
                       f"{environment}"), file=stderr)
    write_outputs({"release-url": result.html_url, "tag": request.tag,
                   "version": request.version}, env)
    append_step_summary(plan.notes, env)
    return EXIT_OK


def _is_latest(client: GitHubClient, repo: str, request: ReleaseRequest) -> bool:
    """Whether this release is the model's highest non-prerelease published version, the one
    GitHub should show as Latest: a backport (v1.0.1 after v1.1.0) is not."""
    from mlops_ci.github.releases import list_releases
    from mlops_ci.release.previous import is_latest, published_tags

    published = published_tags(list_releases(client, repo))
    return is_latest(request.version, published, request.artifact, single=request.single)


def _public_key(root: Path, config: Config) -> Path | None:
    """release.signing.public_key, inside the repository; None when not set."""
    from mlops_ci.security import resolve_inside

    signing = config.release.signing
    if signing is None or signing.public_key is None:
        return None
    return resolve_inside(root, signing.public_key, what="release.signing.public_key")


def _deployed(client: GitHubClient, repo: str, tag: str, environment: str) -> bool:
    """Whether a re-run finds this release's deployment recorded already."""
    from mlops_ci.github.releases import repo_path

    found = client.paginate(f"{repo_path(repo)}/deployments",
                            {"ref": tag, "environment": environment})
    return any(True for _ in found)
