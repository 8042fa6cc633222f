"""Write the model registry's tags: annotated git tags, created and pushed as one change.

The stage commands (``assign``, ``unassign``, ``deprecate``) decide *which* tags to write;
here they are written: each an annotated tag (GTO ignores lightweight ones) on a commit, then
pushed to the remote by name (``git push REMOTE refs/tags/TAG``, never ``--tags``, which would
publish every local tag), atomically when there are several. A failure anywhere deletes the
tags this call created, so that nothing half-done remains: a tag that exists only locally
would make the next counter skip a number and the local registry disagree with the remote's.
Every git call goes through :func:`mlops_ci.proc.git`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlops_ci.errors import CommandError, RepositoryError
from mlops_ci.proc import git

# Used only when git has no identity (a fresh CI runner), so that `git tag -a` can record a
# tagger; the user's own identity wins wherever one is configured.
FALLBACK_IDENTITY = ("mlops-ci", "mlops-ci@users.noreply.github.com")

CLOCK_SKEW = 2  # seconds: a newest tag at most this far ahead of the clock is waited for


@dataclass(frozen=True)
class NewTag:
    """An annotated tag to create: its name, the commit it points at, and its message."""

    name: str
    commit: str
    message: str


def check_remote(root: Path, remote: str) -> str:
    """The URL of *remote*, or a RepositoryError naming the remotes there are."""
    url = git("remote", "get-url", "--", remote, cwd=root, check=False)
    if url:
        return url
    remotes = git("remote", cwd=root, check=False).split()
    have = f"this repository has {', '.join(remotes)}" if remotes else "this repository has none"
    raise RepositoryError(
        f"There is no git remote {remote!r} to push the tag to ({have}). Pass --remote NAME, "
        "or --no-push to write the tag locally only."
    )


def write_tags(
    root: Path,
    tags: Sequence[NewTag],
    *,
    push: bool,
    remote: str = "origin",
    verify: Callable[[], None] | None = None,
) -> None:
    """Create *tags* (annotated), then push them to *remote* when *push*.

    All or nothing: when creating or pushing fails, the tags created here are deleted again
    and a RepositoryError says what failed and that nothing was left behind. *verify* runs
    between the two (the registry read again with the new tags): whatever it raises, the
    tags are deleted first.
    """
    if push:
        check_remote(root, remote)
    _wait_for_a_new_second(root)
    created: list[str] = []
    try:
        for tag in tags:
            _create(root, tag)
            created.append(tag.name)
    except CommandError as exc:
        _delete(root, created)
        raise RepositoryError(
            f"Could not create the tag {tags[len(created)].name!r}:\n{exc.output_tail}\n"
            "No tag was written."
        ) from None
    if verify is not None:
        try:
            verify()
        except BaseException:
            _delete(root, created)
            raise
    if not push:
        return
    refs = [f"refs/tags/{name}" for name in created]
    atomic = ["--atomic"] if len(refs) > 1 else []
    try:
        git("push", "--quiet", "--no-follow-tags", *atomic, "--", remote, *refs, cwd=root)
    except CommandError as exc:
        _delete(root, created)
        names = ", ".join(created)
        raise RepositoryError(
            f"Pushing {names} to {remote!r} failed, so the local tag was deleted again and "
            f"nothing changed:\n{exc.output_tail}\nFix the push (access, network, the remote's "
            "rules) and run the command again, or pass --no-push to tag locally only."
        ) from None


def _wait_for_a_new_second(root: Path) -> None:
    """Sleep until the newest tag's second has passed, when it is this one (or just ahead).

    GTO orders tags by their tagger date, to the second, and leaves a tie to the order it
    lists them in: a tag written in the same second as the one before could read as older.
    A date more than CLOCK_SKEW seconds ahead is not waited for (the check after writing
    refuses a tag that would not read as the latest).
    """
    latest = git(
        "for-each-ref", "--sort=-taggerdate", "--count=1", "--format=%(taggerdate:unix)",
        "refs/tags/", cwd=root,
    )
    if not latest.isdigit():
        return
    ahead = int(latest) - int(time.time())
    if 0 <= ahead <= CLOCK_SKEW:
        time.sleep(max(0.0, int(latest) + 1 - time.time()) + 0.01)


def _create(root: Path, tag: NewTag) -> None:
    identity: list[str] = []
    if not git("config", "user.email", cwd=root, check=False):
        name, email = FALLBACK_IDENTITY
        identity = ["-c", f"user.name={name}", "-c", f"user.email={email}"]
    # --cleanup=whitespace: a copied gate line that starts with '#' is kept, not taken for a
    # comment. A `tag.gpgSign` setting signs the tag, as git would (a signed tag is annotated).
    git(
        *identity,
        "tag",
        "--annotate",
        "--cleanup=whitespace",
        "--message",
        tag.message,
        "--",
        tag.name,
        tag.commit,
        cwd=root,
    )


def _delete(root: Path, names: Sequence[str]) -> None:
    if names:
        git("tag", "--delete", "--", *names, cwd=root, check=False)
