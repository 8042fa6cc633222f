"""Small file helpers shared by the writers and readers.

Writes never destroy: a file is replaced whole (a temporary beside it, then a rename), a
symlink is written through and kept (or, with ``replace_links``, replaced by the new file and
never written through: DVC's cache behind a ``cache.type symlink`` output stays as DVC wrote
it), and a directory, FIFO or device at the target is refused before anything is written.
Several files can be written as a set (:func:`replace_all`): when one rename fails, the files
already replaced are put back, so a failure leaves the old set, not a mixture.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_ci.errors import InputError
from mlops_ci.security import read_regular_file, special_file_problem


@dataclass(frozen=True)
class Staged:
    target: Path  # the file to replace (a symlink's target, when written through)
    temporary: Path  # the new content, beside the target, on the same filesystem


def write_text_atomic(path: Path, text: str) -> None:
    """Write through a temporary file beside *path*, so a failure never leaves half a file."""
    write_texts_atomic({path: text})


def write_texts_atomic(files: Mapping[Path, str], *, replace_links: bool = False) -> None:
    """Write every file of *files* or none: all are encoded and staged before any is replaced.

    A target that is a symlink is written through (its real file is replaced, the link is
    kept), or with *replace_links* the link itself is replaced by a regular file; a dangling or
    looping symlink (when written through), a directory, a FIFO, a device, or a path under a
    regular file is refused with an InputError naming it, and nothing is written.
    """
    staged = stage_texts(files, replace_links=replace_links)
    try:
        replace_all([(one.temporary, one.target) for one in staged])
    finally:
        for one in staged:
            one.temporary.unlink(missing_ok=True)


def stage_texts(files: Mapping[Path, str], *, replace_links: bool = False) -> list[Staged]:
    """Every file of *files* written to a temporary beside its target, nothing replaced yet;
    the caller renames them (:func:`replace_all`) and removes what is left. Refusals as
    :func:`write_texts_atomic`'s."""
    contents = [
        (_writable_target(path, replace_links=replace_links), text.encode("utf-8"))
        for path, text in files.items()
    ]
    staged: list[Staged] = []
    target = None
    try:
        for target, data in contents:
            staged.append(_stage(target, data))
    except BaseException as exc:
        for one in staged:
            one.temporary.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise InputError(
                f"Cannot write {target}: {exc.strerror or exc}; choose a writable path."
            ) from None
        raise
    return staged


def replace_all(moves: Sequence[tuple[Path, Path]]) -> None:
    """Rename each ``(new file, destination)`` of *moves*, in order, or none of them.

    A destination that is a directory is refused before anything moves. Each existing
    destination is kept aside (a hard link beside it, else a rename) until every rename has
    succeeded; when one fails, every destination replaced so far is put back as it was (a
    new one removed) and an InputError names the one that failed. A symlink at a destination
    is replaced, not written through. Only an interruption of the process itself (a kill)
    between two renames can leave some files new and the rest old: put the files a reader
    trusts most last.
    """
    for _, destination in moves:
        if destination.is_dir() and not destination.is_symlink():
            raise InputError(
                f"Cannot write {destination}: it is a directory; remove it or choose another "
                "path. Nothing was written."
            )
    done: list[tuple[Path, Path | None]] = []  # (destination, where its old file is kept)
    current: Path | None = None
    try:
        for new, destination in moves:
            current = destination
            done.append((destination, _keep_aside(destination)))
            os.replace(new, destination)
    except OSError as exc:
        _put_back(done)
        raise InputError(
            f"Cannot write {current}: {exc.strerror or exc}; choose a writable path. The files "
            "already replaced were put back as they were."
        ) from None
    for _, kept in done:
        if kept is not None:
            kept.unlink(missing_ok=True)


def _keep_aside(destination: Path) -> Path | None:
    """A name beside *destination* that holds its current file (None when there is none)."""
    if not os.path.lexists(destination):
        return None
    kept = destination.with_name(f".{destination.name}.{os.getpid()}.{secrets.token_hex(4)}.old")
    try:  # a second name for the same file: the destination never goes missing
        os.link(destination, kept, follow_symlinks=False)
    except OSError:  # a filesystem without hard links
        os.replace(destination, kept)
    return kept


def _put_back(done: Sequence[tuple[Path, Path | None]]) -> None:
    """Undo :func:`replace_all`'s renames so far, last first; best effort."""
    for destination, kept in reversed(done):
        with contextlib.suppress(OSError):
            if kept is None:
                destination.unlink(missing_ok=True)
            else:
                os.replace(kept, destination)


def check_writable_file(path: Path, *, replace_links: bool = False) -> None:
    """Refuse, before any slow work, a *path* that a write would refuse (see
    :func:`write_texts_atomic`)."""
    _writable_target(path, replace_links=replace_links)


def check_output_directory(directory: Path, *, what: str) -> None:
    """Refuse, before any slow work, a *directory* to write into that cannot be one."""
    blocker = _file_on_the_way(Path(os.path.abspath(directory)))
    if blocker is not None:
        shown = "it" if blocker == Path(os.path.abspath(directory)) else str(blocker)
        raise InputError(
            f"{what} {directory}: {shown} is a file, not a directory; pass a directory to "
            "write the report files into."
        )


def _writable_target(path: Path, *, replace_links: bool = False) -> Path:
    """The file that writing *path* replaces (the real file behind a symlink, or with
    *replace_links* the link itself); InputError when it must not be replaced."""
    absolute = Path(os.path.abspath(path))
    if replace_links and absolute.is_symlink():
        blocker = _file_on_the_way(Path(os.path.realpath(absolute.parent)))
        if blocker is not None:
            raise InputError(
                f"Cannot write {path}: {blocker} is a file, not a directory; choose another path."
            )
        return Path(os.path.realpath(absolute.parent)) / absolute.name
    if absolute.is_symlink():
        try:
            real = Path(os.path.realpath(absolute, strict=True))
        except (OSError, RuntimeError):
            raise InputError(
                f"Cannot write {path}: it is a symlink to {os.readlink(absolute)!r}, which does "
                "not exist or loops; fix the link or remove it."
            ) from None
    else:
        real = Path(os.path.realpath(absolute))
    blocker = _file_on_the_way(real.parent)
    if blocker is not None:
        raise InputError(
            f"Cannot write {path}: {blocker} is a file, not a directory; choose another path."
        )
    problem = special_file_problem(real)
    if problem:
        shown = f"{path} (a symlink to {real})" if real != absolute else f"{path}"
        raise InputError(
            f"Cannot write {shown}: it {problem}; "
            "mlops-ci writes only regular files, so choose another path."
        )
    return real


def _file_on_the_way(directory: Path) -> Path | None:
    """The nearest existing ancestor of *directory* when it is not a directory, else None."""
    for candidate in (directory, *directory.parents):
        if candidate.exists():
            return None if candidate.is_dir() else candidate
    return None


def _stage(target: Path, data: bytes) -> Staged:
    """*data* in a new file beside *target*, with the permissions *target* has (if it exists
    and is not a symlink, which is replaced by a file of the default permissions)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # O_EXCL and O_NOFOLLOW: never open something another process put at the temporary name.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temporary, flags, 0o666)  # the umask applies, as for any new file
    staged = Staged(target=target, temporary=temporary)
    try:
        try:
            existing = None if target.is_symlink() else os.stat(target)
        except FileNotFoundError:
            existing = None
        if existing is not None:
            os.fchmod(fd, stat.S_IMODE(existing.st_mode))
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        os.close(fd)
        temporary.unlink(missing_ok=True)
        raise
    os.close(fd)
    return staged


def read_json(path: Path, *, label: str, missing: str, fix: str = "") -> Any:
    """The JSON document in *path*; every failure is one InputError that starts with *label*.

    *missing* finishes the sentence when the file does not exist; *fix*, a sentence telling the
    user what to pass instead, follows the messages about content that is not JSON. A
    directory, FIFO or device is refused without being opened for reading.
    """
    tail = f" {fix}" if fix else ""
    problem = special_file_problem(path)
    if problem:
        raise InputError(f"{label} {problem}, not a file.{tail}")
    try:
        text = read_regular_file(path, what=label).decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"{label} {missing}") from None
    except UnicodeDecodeError:
        raise InputError(f"{label} is not UTF-8 text, so it is not JSON.{tail}") from None
    except OSError as exc:
        raise InputError(f"{label} cannot be read ({exc.strerror}).") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{label} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).{tail}"
        ) from None
    except RecursionError:  # nesting deep enough to exhaust the parser
        raise InputError(f"{label} is nested too deeply to be read.{tail}") from None
    except ValueError:  # a whole number of more digits than Python turns into an int
        raise InputError(f"{label} holds a number too long to be read.{tail}") from None
