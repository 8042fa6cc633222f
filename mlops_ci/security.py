"""The trust boundary, in one place: which paths may be read, and how untrusted text is shown.

A pull request's author controls its code, its mlops.yaml, its metrics and, in the fork-safe
pair, the report.json that a privileged workflow publishes. Everything from there is data.
This module holds the one function for each defence, so that no call site invents its own:

- paths: :func:`resolve_inside` resolves a configured path to its real path and refuses one
  that leaves the repository (or DVC's cache) through ``..``, an absolute path or a symlink;
  :func:`read_regular_file` refuses FIFOs, devices and directories before reading a byte;
- log lines: :func:`log_safe` keeps a value from issuing a GitHub Actions workflow command;
- secrets: :func:`known_secrets` and :func:`mask_secrets` keep credentials out of every
  message and traceback, and out of the pipeline's environment (CREDENTIAL_VARIABLES);
- markdown: :func:`inert_text` and :func:`inert_block` render untrusted text so that GitHub
  shows it as text: no link, image, HTML, heading, mention or issue reference.
"""

from __future__ import annotations

import logging
import os
import re
import stat
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from mlops_ci.errors import InputError, MlopsError

# --- paths -----------------------------------------------------------------------------------


def _kind(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device"
    if stat.S_ISSOCK(mode):
        return "is a socket"
    return "is not a regular file"


def special_file_problem(path: Path) -> str | None:
    """Why *path* (followed through symlinks) cannot be read as a file; None if it can.

    Looks at the file's type only: a FIFO is never opened (opening one blocks until a writer
    comes), a device is never read.
    """
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None  # the caller's read names a missing file in its own words
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    return _kind(mode)


def read_regular_file(
    path: Path, *, what: str, limit: int | None = None, error: type[MlopsError] = InputError
) -> bytes:
    """The bytes of *path*, a regular file; *error* (naming *what* and the path) otherwise.

    Opened without blocking and checked on the open descriptor, so a FIFO or device swapped
    in between a check and the read is still refused. *limit* bounds the size read.
    """
    problem = special_file_problem(path)
    if problem:
        raise error(f"{what} {path} {problem}; point it at a regular file.")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)  # FileNotFoundError propagates: callers word it
    try:
        info = os.fstat(fd)
        kind = _kind(info.st_mode)
        if kind:
            raise error(f"{what} {path} {kind}; point it at a regular file.")
        if limit is not None and info.st_size > limit:
            raise error(
                f"{what} {path} is {info.st_size:,} bytes, more than the {limit:,} allowed."
            )
        chunks = []
        remaining = limit + 1 if limit is not None else -1
        while True:
            chunk = os.read(fd, 1 << 20 if remaining < 0 else min(1 << 20, remaining))
            if not chunk:
                break
            chunks.append(chunk)
            if remaining >= 0:
                remaining -= len(chunk)
                if remaining <= 0:
                    break
        data = b"".join(chunks)
        if limit is not None and len(data) > limit:
            raise error(f"{what} {path} is larger than the {limit:,} bytes allowed.")
        return data
    finally:
        os.close(fd)


def is_inside(path: Path, root: Path) -> bool:
    """True when *path* is *root* or below it (both real, absolute paths)."""
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def resolve_inside(
    root: Path,
    relative: str | Path,
    *,
    what: str,
    allowed: Sequence[Path] = (),
    error: type[MlopsError] = InputError,
) -> Path:
    """The real path of *relative* under *root*, if it stays inside *root* or *allowed*.

    *relative* is resolved against *root* with every symlink followed; the result must lie in
    the real *root* or in one of the *allowed* directories (DVC's cache, whose ``symlink``
    cache type is legitimate). *what* names the setting in the message ("metrics.files[0]").
    A path that does not exist yet resolves as far as it exists and is judged the same way.
    """
    real_root = Path(os.path.realpath(root))
    candidate = Path(relative)
    if candidate.is_absolute():
        raise error(
            f"{what} must be a path relative to the repository root, not {str(relative)!r}."
        )
    real = Path(os.path.realpath(real_root / candidate))
    roots = [real_root, *(Path(os.path.realpath(a)) for a in allowed)]
    if not any(is_inside(real, r) for r in roots):
        raise error(
            f"{what} {str(relative)!r} resolves to {real}, outside the repository "
            f"{real_root}; mlops-ci reads only files inside it (or DVC's cache)."
        )
    return real


# DVC's cache stores each file under its md5: <cache>/files/md5/ab/cdef... (DVC 3) or
# <cache>/ab/cdef... (DVC 2); a directory's listing ends in ".dir".
_CACHE_ENTRY = re.compile(r"(?:files/md5/)?[0-9a-f]{2}/[0-9a-f]{30}(?:\.dir)?")


def dvc_cache_dirs(root: Path) -> list[Path]:
    """The real paths of DVC's cache directories for the repository at *root*.

    ``.dvc/cache`` unless ``cache.dir`` is set (``.dvc/config``, ``.dvc/config.local``, or the
    runner's global and system configuration); DVC resolves a relative ``cache.dir`` itself.
    """
    default = Path(os.path.realpath(root / ".dvc" / "cache"))
    try:
        from dvc.config import Config

        configured = Config(dvc_dir=str(root / ".dvc"))["cache"].get("dir")
    except Exception:  # DVC itself reports a broken config when it runs
        configured = None
    if not configured:
        return [default]
    return [Path(os.path.realpath(configured)), default]


def is_dvc_cache_entry(real: Path, caches: Sequence[Path]) -> bool:
    """True when *real* is a file DVC stored in one of *caches* (named by its hash).

    Only the content-addressed layout counts: a ``cache.dir`` pointed at ``/`` by the pull
    request's own ``.dvc/config`` still does not make ``/etc/passwd`` readable.
    """
    return any(
        is_inside(real, cache)
        and _CACHE_ENTRY.fullmatch(real.relative_to(cache).as_posix()) is not None
        for cache in caches
    )


def resolve_in_workspace(
    root: Path, relative: str | Path, *, what: str, error: type[MlopsError] = InputError
) -> Path:
    """The real path of a file the pipeline wrote: inside the repository, or in DVC's cache.

    DVC's ``symlink`` cache type makes a tracked output a symlink into the cache, which may
    live outside the repository (``cache.dir``); that one place is allowed. DVC's configuration
    is read only when a path does leave the repository, so the common case costs nothing.
    """
    try:
        return resolve_inside(root, relative, what=what, error=error)
    except MlopsError:
        if Path(relative).is_absolute():
            raise
        real = Path(os.path.realpath(Path(root) / relative))
        if is_dvc_cache_entry(real, dvc_cache_dirs(Path(root))):
            return real
        raise


def check_regular_file(path: Path, *, what: str, error: type[MlopsError] = InputError) -> None:
    """Refuse *path* when it exists and is not a regular file (nothing is opened)."""
    problem = special_file_problem(path)
    if problem:
        raise error(f"{what} {path} {problem}; it must be a regular file.")


# --- log lines -------------------------------------------------------------------------------

# The runner reads `::name ...::` at the start of a line (after white space) and the legacy
# `##[name]` anywhere in it, on stdout and stderr alike. Its lines end at "\n", "\r\n" or a
# lone "\r" (.NET's ReadLine), so a carriage return starts a line too.
_COMMAND_START = re.compile(r"(?:^|(?<=\r))(\s*):(?=:)", re.MULTILINE)
_LEGACY_COMMAND = re.compile(r"#(?=#\[)")
_ZWSP = "\u200b"  # not white space to the runner's Trim(), invisible in the log


def log_safe(text: str) -> str:
    """*text* with every workflow command defused, for any line an untrusted value reaches.

    ``::stop-commands::x`` becomes ``:\\u200b:stop-commands::x``: the same to a reader, but
    not a command to the runner, whichever line of *text* it starts.
    """
    text = _COMMAND_START.sub(lambda m: f"{m.group(1)}:{_ZWSP}", text)
    return _LEGACY_COMMAND.sub(f"#{_ZWSP}", text)


def log_safe_json(text: str) -> str:
    """JSON text that issues no workflow command, and parses to the same data.

    A JSON line never starts with ``::`` (only a string holds it, and a string never starts a
    line), but ``##[`` may stand in a string anywhere: its second ``#`` is spelled ``\\u0023``.
    """
    return text.replace("##[", "#\\u0023[")


class LogSafeFormatter(logging.Formatter):
    """A logging formatter whose every record, traceback included, passes :func:`log_safe`."""

    def format(self, record: logging.LogRecord) -> str:
        return log_safe(super().format(record))


# --- secrets ---------------------------------------------------------------------------------

# What the runner (or a workflow) puts in a step's environment that lets a process act on
# GitHub: the token under its usual names, and the runtime tokens behind the cache, the
# artifacts and OIDC. The pipeline's stages (the pull request's code) get none of them.
CREDENTIAL_VARIABLES = (
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
    "INPUT_GITHUB-TOKEN",
    "INPUT_GITHUB_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_RUNTIME_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_CACHE_URL",
    "ACTIONS_RESULTS_URL",
)
# The runner's file commands: a process that can write these sets the step's outputs (a
# `verdict`), the environment and PATH of the job's later steps, and the job summary. The
# stages get none of them.
FILE_COMMAND_VARIABLES = (
    "GITHUB_OUTPUT",
    "GITHUB_ENV",
    "GITHUB_PATH",
    "GITHUB_STATE",
    "GITHUB_STEP_SUMMARY",
)
_MIN_SECRET = 8  # shorter values are not tokens; masking them would mangle ordinary text
_MIN_PIECE = 4  # a piece of a multi-line secret worth masking on its own


def known_secrets(env: Mapping[str, str], *extra: str | None) -> set[str]:
    """The credential values in *env* (see CREDENTIAL_VARIABLES) and *extra* ones, non-empty."""
    values = [env.get(name, "") for name in CREDENTIAL_VARIABLES if name.endswith("TOKEN")]
    return {v for v in [*values, *extra] if v and len(v) >= _MIN_SECRET}


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """*text* with every secret replaced by ``***``: as written, as repr() escapes it, and
    each line of a secret that has several (a traceback may show them apart)."""
    forms: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        forms.update({secret, repr(secret)[1:-1], secret.encode("unicode_escape").decode()})
        forms.update(p for p in re.split(r"[\r\n]+", secret) if len(p.strip()) >= _MIN_PIECE)
    for form in sorted(forms, key=len, reverse=True):  # longest first: no half-masked token
        text = text.replace(form, "***")
    return text


# --- untrusted markdown ----------------------------------------------------------------------

_WJ = "\u2060"  # WORD JOINER: invisible, and breaks GitHub's mention and reference patterns

# GFM table cells and inline text: these characters would start markup, split a cell or open
# raw HTML; entities for the HTML ones, backslash escapes for the rest. render.md uses these.
MD_ESCAPES = {
    "&": "&amp;",
    "<": "&lt;",
    ">": "&gt;",
    "\\": "\\\\",
    "|": "\\|",
    "`": "\\`",
    "*": "\\*",
    "_": "\\_",
    "[": "\\[",
    "]": "\\]",
    "~": "\\~",
}
# Untrusted text also loses images (`!`), headings and references (`#`) and math (`$`).
_MD_INERT_ESCAPES = str.maketrans({**MD_ESCAPES, "!": "\\!", "#": "\\#", "$": "\\$"})

# What GitHub turns into links after rendering: @mentions, #123 / GH-123 / owner/repo#1
# references, URLs and www. autolinks, e-mail addresses.
_AUTOLINKS = [
    (re.compile(r"@"), "@" + _WJ),
    (re.compile(r"#"), "#" + _WJ),
    (re.compile(r"(?i)\b(gh)-"), r"\1-" + _WJ),
    (re.compile(r":(?=//)"), ":" + _WJ),
    (re.compile(r"(?i)\b(www)\."), r"\1" + _WJ + "."),
]


# Bidirectional controls reorder what follows them on screen (the "Trojan Source" trick): in
# a sentence mlops-ci writes around a name, they would make trusted words read otherwise.
_BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_REPLACEMENT = "\ufffd"


def visible_order(text: str) -> str:
    """*text* with every bidirectional control shown as U+FFFD: it reads in stored order."""
    return _BIDI_CONTROLS.sub(_REPLACEMENT, text)


def inert_text(value: object) -> str:
    """Untrusted text for one line of GitHub markdown (a table cell, a sentence): text only.

    Newlines become spaces; markdown and HTML are escaped; mentions, references and
    autolinks are broken with an invisible word joiner, so the reader sees the same letters
    and GitHub links nothing.
    """
    text = visible_order(" ".join(str(value).split()))
    for pattern, replacement in _AUTOLINKS:
        text = pattern.sub(replacement, text)
    return text.translate(_MD_INERT_ESCAPES)


def inert_block(value: object) -> str:
    """Untrusted multi-line text (card prose) as a fenced text block: GitHub renders it as is."""
    text = visible_order(str(value).strip("\n"))
    longest = max((len(m) for m in re.findall(r"`+|~+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


# --- YAML that DVC parses --------------------------------------------------------------------

MAX_YAML_EXPANSION = 1_000_000  # values a YAML file may expand to once aliases are followed


def yaml_expansion_problem(text: str, limit: int = MAX_YAML_EXPANSION) -> str | None:
    """Why *text* cannot be handed to a YAML loader that expands aliases; None when it can.

    An alias bomb (each level a list of aliases of the level below) is a few hundred bytes
    that expand to billions of values: DVC would load dvc.yaml or params.yaml that way and
    hang. Counting from the parser's events costs one pass and never expands anything.
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError
    from ruamel.yaml.events import (
        AliasEvent,
        CollectionEndEvent,
        CollectionStartEvent,
        ScalarEvent,
    )

    sizes: dict[str, int] = {}  # anchor -> values it stands for
    open_collections: list[tuple[str | None, int]] = []  # (anchor, values so far)
    total = 0

    def add(count: int) -> None:
        nonlocal total
        if open_collections:
            anchor, size = open_collections[-1]
            open_collections[-1] = (anchor, size + count)
        else:
            total += count

    try:
        for event in YAML(typ="safe", pure=True).parse(text):
            if isinstance(event, ScalarEvent):
                if event.anchor:
                    sizes[event.anchor] = 1
                add(1)
            elif isinstance(event, AliasEvent):
                add(sizes.get(event.anchor, 1))
            elif isinstance(event, CollectionStartEvent):
                open_collections.append((event.anchor, 1))
            elif isinstance(event, CollectionEndEvent) and open_collections:
                anchor, size = open_collections.pop()
                if anchor:
                    sizes[anchor] = size
                add(size)
            if total > limit or any(size > limit for _, size in open_collections):
                return f"expands to more than {limit:,} values through its aliases"
    except YAMLError:
        return None  # not YAML: the reader that comes next names the syntax error
    return None
