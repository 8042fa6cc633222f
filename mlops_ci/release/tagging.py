"""Which release a tag asks for, checked against git; and the GTO tag a single-model release adds.

The tag comes from ``--tag`` or, on a tag push, ``GITHUB_REF`` (``refs/tags/...``). It is parsed
in GTO's grammar (``registry_tags.parse_release_tag``): ``vX.Y.Z`` releases the repository's
single model, ``NAME@vX.Y.Z`` one of several, NAME a model that mlops.yaml or dvc.yaml's
``artifacts:`` names. The tag must exist in the clone, be annotated (GTO ignores lightweight
tags) and point at HEAD: the release is of the commit the workspace holds.

A release of ``vX.Y.Z`` also writes the annotated GTO tag ``NAME@vX.Y.Z`` on the same commit and
pushes it to ``origin``, so that ``gto show`` lists the version; its message records the gates.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlops_ci.config import Config
from mlops_ci.dvc_yaml import read_dvc_yaml
from mlops_ci.errors import InputError
from mlops_ci.proc import git, run, tool_env
from mlops_ci.registry_tags import RELEASE_FORM, SEMVER_WORDS, parse_release_tag, version_tag
from mlops_ci.report import Report
from mlops_ci.security import log_safe

TAG_REF_PREFIX = "refs/tags/"
MAX_TAG = 250  # characters of a tag name shown in a message


@dataclass(frozen=True)
class ReleaseRequest:
    """The release a tag asks for."""

    tag: str  # as pushed: "v1.3.0" or "churn@v1.3.0"
    artifact: str  # the model's name (the GTO artifact)
    version: str  # "v1.3.0"
    prerelease: bool
    commit: str  # the tagged commit, full SHA (HEAD)
    single: bool  # a bare vX.Y.Z tag of the repository's single model
    released_as: str | None = None  # this is the registry tag mlops-ci wrote for that bare tag

    @property
    def gto_tag(self) -> str:
        """The registry tag of this version: the tag itself, or NAME@vX.Y.Z for a bare one."""
        return version_tag(self.artifact, self.version) if self.single else self.tag


def tag_name(option: str | None, env: Mapping[str, str]) -> str:
    """--tag, else the tag GITHUB_REF names on a tag push; an InputError otherwise."""
    if option is not None:
        if not option.strip():
            raise InputError("--tag is empty; give the release tag, e.g. --tag v1.3.0.")
        return option.strip().removeprefix(TAG_REF_PREFIX)
    ref = env.get("GITHUB_REF", "")
    if ref.startswith(TAG_REF_PREFIX) and len(ref) > len(TAG_REF_PREFIX):
        return ref[len(TAG_REF_PREFIX):]
    where = f"GITHUB_REF is {log_safe(ref[:MAX_TAG])!r}, not a tag" if ref else "no GITHUB_REF"
    raise InputError(
        f"No release tag: {where}. Pass the tag with --tag (e.g. `mlops-ci release --tag "
        "v1.3.0`), or run on a tag push (`on: push: tags:`)."
    )


def model_names(config: Config) -> list[str]:
    """The models a tag may name: the configured one, and dvc.yaml's `type: model` artifacts."""
    pipeline = read_dvc_yaml(config.root)
    names = [config.model.name, *(a.name for a in (pipeline.models() if pipeline else ()))]
    return list(dict.fromkeys(name for name in names if name))


def resolve_request(root: Path, config: Config, tag: str) -> ReleaseRequest:
    """The model, version and commit *tag* releases; InputError (exit 2) with the fix if not."""
    parsed = parse_release_tag(tag)
    names = model_names(config)
    if parsed.artifact is None:
        models = [n for n in names if n != config.model.name]
        if models:
            raise InputError(
                f"Tag {tag!r} is a bare version, which releases a repository's single model, but "
                f"this one has several ({_listed(names)}). Expected {RELEASE_FORM}: tag "
                f"`{config.model.name}@{parsed.version}` instead."
            )
        artifact, single = config.model.name, True
    elif parsed.artifact in names:
        artifact, single = parsed.artifact, False
    else:
        raise InputError(
            f"Tag {tag!r} names the model {parsed.artifact!r}, which neither mlops.yaml's "
            f"`model.name` nor dvc.yaml's `artifacts:` (type: model) declares; the models here: "
            f"{_listed(names)}. Expected {RELEASE_FORM}, where vX.Y.Z is {SEMVER_WORDS}."
        )
    commit = _tagged_commit(root, tag)
    return ReleaseRequest(
        tag=tag, artifact=artifact, version=parsed.version, prerelease=parsed.prerelease,
        commit=commit, single=single, released_as=_bare_twin(root, tag, parsed.version, commit),
    )


def _bare_twin(root: Path, tag: str, version: str, commit: str) -> str | None:
    """The bare tag released with *tag*, when *tag* is the registry tag that mlops-ci wrote
    for it (its message says so): a push of that tag (by a token that triggers workflows)
    must not make a second release."""
    if existing_tag(root, version) != commit:
        return None
    message = git("tag", "-l", "--format=%(contents:subject)", "--", tag, cwd=root, check=False)
    return version if message.startswith("mlops-ci release ") else None


def _listed(names: Sequence[str]) -> str:
    return ", ".join(repr(n) for n in names[:10]) or "none"


def _tagged_commit(root: Path, tag: str) -> str:
    ref = TAG_REF_PREFIX + tag
    kind = git("cat-file", "-t", ref, cwd=root, check=False)
    if not kind:
        raise InputError(
            f"Tag {tag!r} is not in this clone. Fetch the tags (`git fetch --tags`; on Actions "
            "check out with `fetch-depth: 0`), or create it: `git tag -a "
            f"{tag} -m 'Release {tag}'`."
        )
    if kind != "tag":
        raise InputError(
            f"Tag {tag!r} is a lightweight tag, which the model registry (GTO) ignores. Make it "
            f"annotated: `git tag -d {tag} && git tag -a {tag} -m 'Release {tag}'`, then push "
            f"it again (`git push --force origin {tag}`)."
        )
    commit = git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=root, check=False)
    if not commit:
        raise InputError(f"Tag {tag!r} does not point at a commit; tag a commit with git tag -a.")
    head = git("rev-parse", "--verify", "--quiet", "HEAD", cwd=root, check=False)
    if commit != head:
        raise InputError(
            f"Tag {tag!r} is on commit {commit[:12]}, but the workspace is at "
            f"{head[:12] or 'no commit'}: a release is of the tagged commit. Check it out first "
            f"(`git checkout {tag}`; on Actions the tag push checks it out)."
        )
    return commit


# --- the GTO tag of a single-model release -----------------------------------------------------


def tag_message(request: ReleaseRequest, report: Report) -> str:
    """`mlops-ci release NAME vX.Y.Z: <verdict>`, a blank line, one line per gate."""
    lines = [f"mlops-ci release {request.artifact} {request.version}: {report.verdict.status}"]
    gates = [
        f"{g.metric} {g.rule} {g.threshold_text}: {g.verdict} ({_value(g.head, report.digits)})"
        for g in report.gates
    ]
    return "\n".join([*lines, "", *gates] if gates else lines) + "\n"


def _value(value: object, digits: int) -> str:
    from mlops_ci.render import format_value

    return format_value(value, digits)


def existing_tag(root: Path, name: str) -> str | None:
    """The commit the local tag *name* points at, or None when there is none."""
    found = git("rev-parse", "--verify", "--quiet", f"{TAG_REF_PREFIX}{name}^{{commit}}",
                cwd=root, check=False)
    return found or None


def remote_tag(root: Path, name: str, env: Mapping[str, str], token: str | None) -> str | None:
    """The commit the tag *name* points at on origin, or None (a read: `git ls-remote`)."""
    ref = f"{TAG_REF_PREFIX}{name}"
    done = run(["git", "ls-remote", "--tags", "origin", ref, f"{ref}^{{}}"], cwd=root,
               check=False, env=_push_env(root, env, token), what="git ls-remote",
               merge_stderr=False)
    if done.returncode != 0:
        return None
    found: dict[str, str] = {}
    for line in done.stdout.splitlines():
        sha, _, name_ = line.partition("\t")
        found[name_] = sha
    return found.get(f"{ref}^{{}}") or found.get(ref)


def read_origin_tags(root: Path, names: Sequence[str], env: Mapping[str, str],
                     token: str | None) -> dict[str, str]:
    """Tag name → the commit it points at on origin (peeled), for those of *names* origin has.

    One `git ls-remote`; a failure (no remote `origin`, origin unreadable) is an InputError:
    "cannot tell" must never read as "no tag there"."""
    refs = [r for name in names for r in (f"{TAG_REF_PREFIX}{name}",
                                            f"{TAG_REF_PREFIX}{name}^{{}}")]
    done = run(["git", "ls-remote", "--tags", "origin", *refs], cwd=root, check=False,
               env=_push_env(root, env, token), what="git ls-remote", merge_stderr=False)
    if done.returncode != 0:
        reason = " ".join((done.stderr or "").split())[:300] or f"exit {done.returncode}"
        raise InputError(log_safe(
            f"Cannot read the tags of the remote 'origin' (`git ls-remote origin` failed: "
            f"{reason}), so the release cannot check that origin has {names[0]!r} on this "
            "commit. Nothing was written. Make `origin` the repository the release is "
            "published from and readable by the job (`contents: read`), then run again."
        )) from None
    found: dict[str, str] = {}
    for line in done.stdout.splitlines():
        sha, _, ref = line.strip().partition("\t")
        found[ref] = sha
    return {name: commit for name in names
            if (commit := found.get(f"{TAG_REF_PREFIX}{name}^{{}}")
                or found.get(f"{TAG_REF_PREFIX}{name}"))}


def check_origin(root: Path, request: ReleaseRequest, env: Mapping[str, str],
                 token: str | None) -> None:
    """Before anything is written: origin can be read, has the release tag on the commit
    being released (the tag GitHub attaches the release to), and no registry tag of this
    version on another commit. An InputError otherwise."""
    names = list(dict.fromkeys([request.tag, request.gto_tag]))
    at_origin = read_origin_tags(root, names, env, token)
    commit = at_origin.get(request.tag)
    if commit is None:
        raise InputError(
            f"The remote 'origin' has no tag {request.tag!r}; the GitHub Release is attached to "
            f"origin's tag. Push it first: `git push origin refs/tags/{request.tag}`."
        )
    if commit != request.commit:
        raise InputError(
            f"origin's tag {request.tag!r} is on commit {commit[:12]}, not on the commit being "
            f"released ({request.commit[:12]}): the tag was moved after this job checked it "
            "out, or the clone's tag differs. Nothing was written. Release a new version "
            "rather than moving a release tag."
        )
    if request.single:
        _check_registry_tag(request, "on origin", at_origin.get(request.gto_tag))


def check_gto_tag(root: Path, request: ReleaseRequest) -> None:
    """Refuse, before anything is written, a GTO tag of this version on another commit in
    this clone (origin's copy: :func:`check_origin`)."""
    if request.single:
        _check_registry_tag(request, "in this clone", existing_tag(root, request.gto_tag))


def _check_registry_tag(request: ReleaseRequest, where: str, commit: str | None) -> None:
    name = request.gto_tag
    if commit is not None and commit != request.commit:
        raise InputError(
            f"The registry tag {name!r} exists {where} on commit {commit[:12]}, not on the "
            f"tagged commit {request.commit[:12]}: version {request.version} of "
            f"{request.artifact!r} was released from another commit. Release a new version, "
            f"or remove the stale tag (`git push origin :refs/tags/{name}`)."
        )


def write_gto_tag(root: Path, request: ReleaseRequest, report: Report,
                  env: Mapping[str, str], token: str | None) -> bool:
    """Write the annotated GTO tag of a bare-version release and push it; False if it existed."""
    if not request.single:
        return False
    from mlops_ci.errors import CommandError, RepositoryError
    from mlops_ci.registry_write import NewTag, write_tags

    name = request.gto_tag
    created = existing_tag(root, name) is None
    if created:  # annotated, with an identity on a runner that has none (registry_write)
        write_tags(root, [NewTag(name, request.commit, tag_message(request, report))],
                   push=False)
    if remote_tag(root, name, env, token) == request.commit:
        return created
    try:
        run(["git", "push", "--quiet", "--no-follow-tags", "--", "origin",
             f"{TAG_REF_PREFIX}{name}"], cwd=root, env=_push_env(root, env, token),
            what="git push")
    except CommandError as exc:
        if created:
            git("tag", "--delete", "--", name, cwd=root, check=False)
        raise RepositoryError(
            f"The release is published, but pushing its registry tag {name!r} to origin "
            f"failed:\n{exc.output_tail}\nGive the job `contents: write`, then run the release "
            "again: it verifies the published release and pushes the tag."
        ) from None
    return created


def _push_env(root: Path, env: Mapping[str, str], token: str | None) -> dict[str, str]:
    """git's environment; on Actions, the token as actions/checkout passes it (an HTTP header
    in the configuration git reads from the environment, never on a command line)."""
    extra: dict[str, str] = {}
    server = env.get("GITHUB_SERVER_URL", "")
    if token and server.startswith("https://"):
        url = git("remote", "get-url", "origin", cwd=root, check=False)
        if url.startswith(server.rstrip("/") + "/"):
            basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            extra = {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": f"http.{server.rstrip('/')}/.extraheader",
                "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
            }
    return tool_env(extra)
