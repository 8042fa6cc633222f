"""Put a verified set of files into place at once: nothing half-written, nothing of the user's lost.

A fetch downloads into a *staging* directory made beside the destination (on its filesystem,
so the final move is a rename, never a copy), verifies it there, and only then installs it:

- the destination does not exist (or is an empty directory): the staging directory is
  renamed onto it — one ``rename(2)``;
- the destination is a previous fetch (a directory holding a ``SHA256SUMS``): the two are
  exchanged with ``renameat2(RENAME_EXCHANGE)`` on Linux (``renamex_np(RENAME_SWAP)`` on
  macOS), so that at every instant the destination is either the old complete set or the new
  one; the old set, now in the staging path, is removed afterwards. Where the system has no
  exchange, two renames are made, and the old set is put back if the second one fails;
- anything else (a file, a symbolic link, a directory that is not a fetch) is refused before
  anything is downloaded, and again just before the move.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

from mlops_ci.errors import InputError
from mlops_ci.release.bundle import SUMS_NAME

_RENAME_EXCHANGE = 2  # linux/fs.h
_RENAME_SWAP = 2  # macOS sys/stdio.h
_AT_FDCWD = -100


def destination_problem(dest: Path) -> str | None:
    """Why a fetch may not install into *dest*; None when it may (absent, empty or a fetch)."""
    try:
        info = dest.lstat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be inspected ({exc.strerror})"
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link; give the real directory, or a path that does not exist yet"
    if not stat.S_ISDIR(info.st_mode):
        return "exists and is not a directory; give a directory for the release's files"
    try:
        entries = os.listdir(dest)
    except OSError as exc:
        return f"cannot be listed ({exc.strerror})"
    if entries and not is_previous_fetch(dest):
        return (
            f"is a directory that holds other files and no {SUMS_NAME}, so it is not a previous "
            "fetch; give an empty or new directory"
        )
    return None


def is_previous_fetch(dest: Path) -> bool:
    """True when *dest* is a real directory holding a regular ``SHA256SUMS``."""
    try:
        return stat.S_ISREG((dest / SUMS_NAME).lstat().st_mode) and not dest.is_symlink()
    except OSError:
        return False


def check_destination(dest: Path) -> None:
    problem = destination_problem(dest)
    if problem:
        raise InputError(f"--dest {dest} {problem}. Nothing was fetched.")


def make_staging(dest: Path) -> Path:
    """A new private directory beside *dest* (its parent is created when missing)."""
    parent = dest.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{dest.name}.fetch-", dir=parent))
    except OSError as exc:
        raise InputError(
            f"Cannot create a directory in {parent} to download into ({exc.strerror}); "
            "choose a --dest whose parent directory is writable."
        ) from None


def remove_tree(path: Path) -> None:
    """Remove *path* and everything below it, if it exists (never following a symlink)."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap *a* and *b* atomically; False when the system offers no way to."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    try:
        libc = ctypes.CDLL(libc_name, use_errno=True)
    except OSError:
        return False
    old, new = os.fsencode(a), os.fsencode(b)
    if sys.platform.startswith("linux") and hasattr(libc, "renameat2"):
        result = libc.renameat2(_AT_FDCWD, old, _AT_FDCWD, new, _RENAME_EXCHANGE)
    elif sys.platform == "darwin" and hasattr(libc, "renamex_np"):
        result = libc.renamex_np(old, new, _RENAME_SWAP)
    else:
        return False
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):  # the filesystem cannot exchange
        return False
    raise OSError(code, os.strerror(code), str(b))


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def install(staging: Path, dest: Path) -> None:
    """Move the verified *staging* directory to *dest*, atomically (see the module)."""
    check_destination(dest)
    os.chmod(staging, 0o777 & ~_umask())  # mkdtemp made it private; a fetch is not
    try:
        if not is_previous_fetch(dest):
            os.replace(staging, dest)  # absent, or an empty directory
            return
        if not _exchange(staging, dest):
            _swap_in_two_steps(staging, dest)
    except OSError as exc:
        raise InputError(
            f"Cannot move the verified files into {dest} ({exc.strerror}); it was left as it "
            "was."
        ) from None
    remove_tree(staging)  # the old set, after the exchange


def _swap_in_two_steps(staging: Path, dest: Path) -> None:
    """The fallback without an atomic exchange: *dest* is missing for one instant."""
    aside = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
    os.rmdir(aside)
    os.rename(dest, aside)
    try:
        os.rename(staging, dest)
    except OSError:
        os.rename(aside, dest)
        raise
    os.rename(aside, staging)  # so that the caller removes the old set where it removes temp
