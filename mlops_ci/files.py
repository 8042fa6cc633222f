"""Small file helpers shared by the writers and readers.

Writes never destroy: a file is replaced whole (a temporary beside it, then a rename), a
symlink is written through and kept, and a directory, FIFO or device at the target is refused
before anything is written. Several files can be written as a set, so that a failure leaves
the old set, not a mixture.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_ci.errors import InputError
from mlops_ci.security import read_regular_file, special_file_problem


@dataclass(frozen=True)
class _Staged:
    target: Path  # the real file to replace (a symlink's target, when the path is a symlink)
    temporary: Path  # the new content, beside the target, on the same filesystem


def write_text_atomic(path: Path, text: str) -> None:
    """Write through a temporary file beside *path*, so a failure never leaves half a file."""
    write_texts_atomic({path: text})


def write_texts_atomic(files: Mapping[Path, str]) -> None:
    """Write every file of *files* or none: all are encoded and staged before any is replaced.

    A target that is a symlink is written through (its real file is replaced, the link is
    kept); a dangling or looping symlink, a directory, a FIFO, a device, or a path under a
    regular file is refused with an InputError naming it, and nothing is written.
    """
    contents = [(_writable_target(path), text.encode("utf-8")) for path, text in files.items()]
    staged: list[_Staged] = []
    target = None
    try:
        for target, data in contents:
            staged.append(_stage(target, data))
        for one in staged:
            target = one.target
            os.replace(one.temporary, one.target)
    except OSError as exc:
        raise InputError(
            f"Cannot write {target}: {exc.strerror or exc}; choose a writable path."
        ) from None
    finally:
        for one in staged:
            one.temporary.unlink(missing_ok=True)


def check_output_directory(directory: Path, *, what: str) -> None:
    """Refuse, before any slow work, a *directory* to write into that cannot be one."""
    blocker = _file_on_the_way(Path(os.path.abspath(directory)))
    if blocker is not None:
        shown = "it" if blocker == Path(os.path.abspath(directory)) else str(blocker)
        raise InputError(
            f"{what} {directory}: {shown} is a file, not a directory; pass a directory to "
            "write the report files into."
        )


def _writable_target(path: Path) -> Path:
    """The real file that writing *path* replaces; InputError when it must not be replaced."""
    absolute = Path(os.path.abspath(path))
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


def _stage(target: Path, data: bytes) -> _Staged:
    """*data* in a new file beside *target*, with the permissions *target* has (if it exists)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # O_EXCL and O_NOFOLLOW: never open something another process put at the temporary name.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temporary, flags, 0o666)  # the umask applies, as for any new file
    staged = _Staged(target=target, temporary=temporary)
    try:
        try:
            existing = os.stat(target)
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
