"""A release's files and their ``SHA256SUMS``, in the format of coreutils' ``sha256sum``.

One line per file, sorted by name: 64 lowercase hex digits, two spaces, the name, a newline
(``sha256sum``'s text mode; ``sha256sum -c SHA256SUMS`` checks it). Names are flat — a GitHub
release asset has no directory — and hold no control character or backslash, so that no line
needs ``sha256sum``'s escaped form. Verifying a directory refuses a mismatch, a missing file,
an extra file and a name that is not a plain file of the directory (a symlink, a
subdirectory, a name with ``/`` or ``..``), one sentence each. Files are hashed in chunks, so
a model of several gigabytes never sits in memory.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path

from mlops_ci.errors import InputError
from mlops_ci.security import read_regular_file

SUMS_NAME = "SHA256SUMS"
CHUNK_SIZE = 1 << 20
# A bundle lists a handful of files; a checksum file larger than this is not one of ours.
MAX_SUMS_BYTES = 1 << 20
# At most this many problems are named in one refusal; the count of the rest follows.
MAX_PROBLEMS = 10

_LINE = re.compile(r"(?P<digest>[0-9a-fA-F]{64}) (?P<mode>[ *])(?P<name>.+)")


def name_problem(name: str) -> str | None:
    """Why *name* cannot be a file of a bundle, as the end of a sentence; None if it can."""
    if not name:
        return "is empty"
    if name in (".", ".."):
        return "names a directory, not a file"
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return "is an absolute path; a bundle holds plain file names"
    if "/" in name:
        return "holds a directory ('/'); a release asset is a plain file name"
    if "\\" in name:
        return "holds a backslash, which sha256sum would escape"
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in name):
        return "holds a newline or another control character"
    return None


def check_name(name: str, *, what: str = "The bundle file name") -> None:
    """Refuse *name* (InputError) when it cannot be a file of a bundle."""
    problem = name_problem(name)
    if problem:
        raise InputError(f"{what} {name!r} {problem}; rename the file.")
    if name == SUMS_NAME:
        raise InputError(f"{what} {name!r} is reserved for the checksums; rename the file.")


def sha256_file(path: Path, *, follow_symlinks: bool = True) -> str:
    """The hex SHA-256 of the regular file *path*, read in chunks.

    With ``follow_symlinks=False`` a symlink or a non-regular file swapped in after a check is
    refused on the open descriptor itself (InputError).
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if not follow_symlinks and path.is_symlink():
            raise InputError(
                f"{path} is a symbolic link; a bundle holds regular files only."
            ) from None
        raise InputError(f"{path} cannot be read ({exc.strerror}).") from None
    with os.fdopen(fd, "rb") as stream:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError(f"{path} is not a regular file; a bundle holds regular files only.")
        digest = hashlib.sha256()
        while chunk := stream.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def format_sums(digests: Mapping[str, str]) -> str:
    """The text of ``SHA256SUMS`` for *digests* (name → hex digest), sorted by name."""
    lines = []
    for name in sorted(digests):
        check_name(name)
        lines.append(f"{digests[name].lower()}  {name}\n")
    return "".join(lines)


def write_sums(files: Mapping[str, Path], directory: Path) -> dict[str, str]:
    """Hash *files* (name → path) and write ``directory/SHA256SUMS``; the digests by name.

    Each path must be a regular file (a symlink to one is followed: the bundle copies bytes).
    """
    digests: dict[str, str] = {}
    for name, path in files.items():
        check_name(name)
        _check_source(name, path)
        digests[name] = sha256_file(path)
    (directory / SUMS_NAME).write_text(format_sums(digests), encoding="utf-8", newline="")
    return digests


def _check_source(name: str, path: Path) -> None:
    """*path*, the source of bundle file *name*, is a regular file (a symlink to one counts)."""
    try:
        info = path.stat()
    except OSError as exc:
        raise InputError(
            f"The bundle file {name!r} ({path}) cannot be read ({exc.strerror}); "
            "check that it was built."
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"The bundle file {name!r} ({path}) is not a regular file.")


def _copy_hashing(source: Path, target: Path) -> str:
    """Copy *source* to the new file *target* in chunks; the hex SHA-256 of what was copied."""
    digest = hashlib.sha256()
    with open(source, "rb") as reader, open(target, "xb") as writer:
        while chunk := reader.read(CHUNK_SIZE):
            digest.update(chunk)
            writer.write(chunk)
    return digest.hexdigest()


def collect_bundle(
    files: Mapping[str, Path], directory: Path, *, texts: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Copy *files* (name → path) and write *texts* (name → UTF-8 text) into the new, empty
    *directory*, then its ``SHA256SUMS`` over all of them; the digests by name.

    Each file is read once: hashed while it is copied. A name given twice is refused.
    """
    texts = texts or {}
    clash = sorted(set(files) & set(texts))
    if clash:
        raise InputError(f"The bundle file name {clash[0]!r} is given twice; rename one.")
    for name in [*files, *texts]:
        check_name(name)
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        raise InputError(f"The bundle directory {directory} is not empty; start from an empty one.")
    digests: dict[str, str] = {}
    for name, path in files.items():
        _check_source(name, path)
        digests[name] = _copy_hashing(path, directory / name)
    for name, text in texts.items():
        data = text.encode("utf-8")
        with open(directory / name, "xb") as writer:
            writer.write(data)
        digests[name] = hashlib.sha256(data).hexdigest()
    (directory / SUMS_NAME).write_text(format_sums(digests), encoding="utf-8", newline="")
    return digests


def parse_sums(data: bytes, *, source: str = SUMS_NAME) -> dict[str, str]:
    """The digests (name → lowercase hex) that a ``SHA256SUMS`` text lists.

    Accepts what ``sha256sum`` writes in text and binary mode (``*name``); refuses an escaped
    line (``\\``), a malformed line, a duplicate name and a name a bundle cannot hold.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{source} is not UTF-8 text; write it with sha256sum.") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    digests: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        where = f"{source} line {number}"
        if line.startswith("\\"):
            raise InputError(
                f"{where} is in sha256sum's escaped form (a name with a backslash or "
                "newline), which a bundle never holds."
            )
        match = _LINE.fullmatch(line)
        if match is None:
            raise InputError(
                f"{where} is not '<64 hex digits>  <name>'; write the file with sha256sum."
            )
        name = match["name"]
        check_name(name, what=f"{where}: the name")
        if name in digests:
            raise InputError(f"{where} lists {name!r} a second time; list each file once.")
        digests[name] = match["digest"].lower()
    if not digests:
        raise InputError(f"{source} lists no file; a bundle lists every file it holds.")
    return digests


def read_sums(directory: Path) -> dict[str, str]:
    """The digests that ``directory/SHA256SUMS`` lists (a regular file, not a symlink)."""
    path = directory / SUMS_NAME
    if path.is_symlink():
        raise InputError(f"{path} is a symbolic link; a bundle holds regular files only.")
    try:
        data = read_regular_file(path, what="The checksum file", limit=MAX_SUMS_BYTES)
    except FileNotFoundError:
        raise InputError(f"{path} is missing; every bundle carries its checksums.") from None
    return parse_sums(data, source=str(path))


def _entry_problem(directory: Path, name: str) -> str | None:
    """Why ``directory/name`` is not a regular file inside *directory*; None if it is one."""
    path = directory / name
    try:
        info = path.lstat()
    except FileNotFoundError:
        return f"{name!r} is listed in {SUMS_NAME} but missing from {directory}."
    if stat.S_ISLNK(info.st_mode):
        target = os.path.realpath(path)
        inside = os.path.dirname(target) == os.path.realpath(directory)
        where = "to another file of the bundle" if inside else "out of the bundle's directory"
        return f"{name!r} is a symbolic link {where}; a bundle holds regular files only."
    if not stat.S_ISREG(info.st_mode):
        return f"{name!r} is not a regular file; a bundle holds regular files only."
    return None


def verify_directory(directory: Path, *, ignore: Iterable[str] = ()) -> dict[str, str]:
    """Check every file of *directory* against its ``SHA256SUMS``; the verified digests.

    The directory must hold exactly the files listed, plus ``SHA256SUMS`` and the names in
    *ignore* (the signature, which is written after the checksums). Refuses with an InputError
    naming each problem: a file missing, an extra file, a symlink or another non-regular
    entry, a digest that does not match.
    """
    expected = read_sums(directory)
    allowed = {SUMS_NAME, *ignore}
    problems: list[str] = []
    try:
        present = sorted(os.listdir(directory))
    except OSError as exc:
        raise InputError(
            f"Cannot list the bundle directory {directory} ({exc.strerror})."
        ) from None
    for name in present:
        if name not in expected and name not in allowed:
            problems.append(f"{name!r} is in {directory} but not listed in {SUMS_NAME}.")
    for name in sorted(expected):
        problem = _entry_problem(directory, name)
        if problem:
            problems.append(problem)
            continue
        actual = sha256_file(directory / name, follow_symlinks=False)
        if actual != expected[name]:
            problems.append(
                f"{name!r} does not match {SUMS_NAME}: its sha256 is {actual}, "
                f"the list says {expected[name]}."
            )
    if problems:
        shown = problems[:MAX_PROBLEMS]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"{len(problems) - MAX_PROBLEMS} more problems are not shown.")
        raise InputError(f"The bundle in {directory} does not verify: " + " ".join(shown))
    return expected
