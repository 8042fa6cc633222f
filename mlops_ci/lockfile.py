"""Read dvc.lock, DVC's record of every stage's inputs and outputs, as untrusted data.

A pull request can commit any bytes as dvc.lock (and ``mlops-ci run --no-repro`` reads it as
committed), so the text is checked here for exactly the shape the lineage needs: a mapping
``stages`` of stage names to mappings whose ``deps`` and ``outs`` are lists of entries with a
string ``path``, string hashes and whole, non-negative sizes. Anything else is a
:class:`LockError` that says what is wrong in words; the caller adds where the file came from
and what to do. Keys the lineage does not use (``cmd``, ``params``, ``hash``...) are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops_ci.errors import InputError

LOCK_FILE = "dvc.lock"

# A dvc.lock DVC writes is kilobytes; this bounds what a hostile one can make us parse.
MAX_LOCK_BYTES = 16 * 1024 * 1024

# The Report's limits on what lineage carries (schema/report.schema.json): a lock beyond them
# would make a report that no reader accepts.
MAX_STAGES = 10_000
MAX_ENTRIES = 10_000
MAX_STAGE_NAME = 500
MAX_PATH = 1000
MAX_HASH = 200
MAX_COUNT = 2**63 - 1  # sizes are bytes: a larger "size" is not one DVC wrote

HASH_KEYS = ("md5", "etag", "checksum")  # local files, cloud objects, older DVC


class LockError(InputError):
    """dvc.lock is unusable; *reason* says why, without naming the file (the caller does)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LockedFile:
    """One ``deps`` or ``outs`` entry of a stage."""

    path: str
    md5: str | None
    size: int | None
    nfiles: int | None


@dataclass(frozen=True)
class LockedStage:
    name: str
    deps: tuple[LockedFile, ...]
    outs: tuple[LockedFile, ...]


@dataclass(frozen=True)
class Lock:
    stages: tuple[LockedStage, ...]


def parse_lock(text: str) -> Lock:
    """The stages recorded in dvc.lock *text*, or a LockError saying what is wrong with it.

    Text read through git arrives with undecodable bytes replaced by U+FFFD; DVC never writes
    that character, so it means the file is not UTF-8.
    """
    if "\ufffd" in text:
        raise LockError("is not UTF-8 text")
    return _lock_from_data(load_yaml(text.removeprefix("\ufeff")))


def decode_lock(data: bytes) -> str:
    """dvc.lock's bytes as text; a LockError naming the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LockError(
            f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


def load_yaml(text: str) -> Any:
    """YAML read as untrusted data: a LockError that names the line, never the line's text."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    try:
        return YAML(typ="safe", pure=True).load(text)
    except MarkedYAMLError as exc:
        # Line and problem only: the offending line's text could be anything.
        line = f"line {exc.problem_mark.line + 1}: " if exc.problem_mark else ""
        problem = _clip(exc.problem or "syntax error")
        raise LockError(f"is not valid YAML ({line}{problem})") from None
    except YAMLError as exc:
        raise LockError(f"is not valid YAML ({_clip(str(exc))})") from None
    except RecursionError:
        raise LockError("is not valid YAML (nested too deeply)") from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise LockError(f"is not valid YAML ({_clip(str(exc))})") from None


def _lock_from_data(data: Any) -> Lock:
    if data is None:  # an empty file records nothing
        return Lock(stages=())
    if not isinstance(data, dict):
        raise LockError(f"holds {_kind(data)}, not a mapping with `stages:`")
    raw_stages = data.get("stages")
    if raw_stages is None:  # no stage has run yet (or DVC 1's format): nothing recorded
        return Lock(stages=())
    if not isinstance(raw_stages, dict):
        raise LockError(f"has `stages:` as {_kind(raw_stages)}, not a mapping of stage names")
    if len(raw_stages) > MAX_STAGES:
        raise LockError(f"has {len(raw_stages):,} stages, more than the {MAX_STAGES:,} allowed")
    stages = tuple(_stage(name, body) for name, body in raw_stages.items())
    entries = sum(len(s.deps) + len(s.outs) for s in stages)
    if entries > MAX_ENTRIES:
        raise LockError(
            f"lists {entries:,} deps and outs, more than the {MAX_ENTRIES:,} allowed"
        )
    return Lock(stages=stages)


def _stage(name: Any, body: Any) -> LockedStage:
    if not isinstance(name, str) or not name or len(name) > MAX_STAGE_NAME:
        raise LockError(
            f"has a stage named {_clip(repr(name))}, not a name of 1 to {MAX_STAGE_NAME} "
            "characters"
        )
    where = f"stage {name!r}"
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise LockError(f"has {where} as {_kind(body)}, not a mapping")
    return LockedStage(
        name=name,
        deps=_entries(body.get("deps"), f"{where} `deps`"),
        outs=_entries(body.get("outs"), f"{where} `outs`"),
    )


def _entries(value: Any, where: str) -> tuple[LockedFile, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise LockError(f"has {where} as {_kind(value)}, not a list")
    if len(value) > MAX_ENTRIES:
        raise LockError(f"has {where} with more than {MAX_ENTRIES:,} entries")
    return tuple(_entry(item, f"{where} entry {index}") for index, item in enumerate(value, 1))


def _entry(item: Any, where: str) -> LockedFile:
    if not isinstance(item, dict):
        raise LockError(f"has {where} as {_kind(item)}, not a mapping with a `path`")
    path = item.get("path")
    if not isinstance(path, str) or not path or len(path) > MAX_PATH:
        problem = "no `path`" if path is None else f"a `path` that is {_kind(path)}"
        raise LockError(
            f"has {where} with {problem}, not a file path of 1 to {MAX_PATH} characters"
        )
    where = f"{where} ({_clip(path)})"
    return LockedFile(
        path=path,
        md5=_hash(item, where),
        size=_count(item.get("size"), f"{where} `size`"),
        nfiles=_count(item.get("nfiles"), f"{where} `nfiles`"),
    )


def _hash(item: dict[Any, Any], where: str) -> str | None:
    for key in HASH_KEYS:
        value = item.get(key)
        if value is None or value == "":
            continue
        if not isinstance(value, str) or len(value) > MAX_HASH:
            raise LockError(
                f"has {where} `{key}` as {_kind(value)}, not a hash of at most {MAX_HASH} "
                "characters"
            )
        return value
    return None


def _count(value: Any, where: str) -> int | None:
    if value is None:
        return None
    # bool is an int in Python; `size: true` is no size.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise LockError(f"has {where} {_clip(repr(value))}, not a whole number of 0 or more")
    return value


def _kind(value: Any) -> str:
    """What a YAML value is, in words, without quoting it (it could be anything)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__} value"


def _clip(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
