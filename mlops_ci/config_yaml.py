"""Stage 1a of reading mlops.yaml: its text → plain data, and where each key stands.

Before the schema sees anything, what no configuration needs is refused with the line it is on:
documents too large or too deep, alias bombs, numbers no float holds, text no file can hold.
"""

from __future__ import annotations

import contextlib
import math
import re
import sys
from dataclasses import dataclass, field
from typing import Any

from mlops_ci.errors import ConfigError
from mlops_ci.schemas import describe_value, format_path, is_writable_text

# A path into the document: ("gates", 1, "max_drop").
KeyPath = tuple[str | int, ...]
# Where each key or list item starts in the file: 0-based (line, column), as ruamel counts.
Positions = dict[KeyPath, tuple[int, int]]

# Bounds on the document, checked before the schema sees it. An mlops.yaml is a few kilobytes
# and holds a few hundred values. ruamel parses about 15,000 values a second, so 256 KiB bounds
# the parse to seconds; YAML aliases can make a small file stand for billions ("billion
# laughs"), which ruamel shares but every walk over the data (ours, jsonschema's) would expand.
MAX_DOCUMENT_BYTES = 256 * 1024
MAX_VALUES = 100_000
MAX_DEPTH = 50
MAX_ALIAS_USES = 100  # each list or mapping, counting each alias of it: stops the expansion early
# Python refuses to read a whole number of more digits than this (int_max_str_digits).
_MAX_DIGITS = 4300
_LONG_NUMBER = re.compile(rf"[0-9_]{{{_MAX_DIGITS + 1},}}")


def parse_document(
    text: str, name: str, *, non_finite: bool = False
) -> tuple[object, Positions]:
    """The document as dicts, lists, str, int, float and bool, and the position of every key.

    `.inf` and `.nan` are refused unless *non_finite* (a params file, where they are data).
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    size = len(text.encode("utf-8"))
    if size > MAX_DOCUMENT_BYTES:
        raise ConfigError(
            f"{name} is {size} bytes, more than the {MAX_DOCUMENT_BYTES} (256 KiB) an mlops-ci "
            "configuration may have; it needs a few kilobytes. Remove what is not configuration."
        )
    try:
        # Round-trip mode keeps every node's line (`.lc`); YAML 1.2, so `off` and `no` are text.
        node = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        raise ConfigError(_syntax_message(exc, name)) from None
    except ReaderError as exc:
        line, column = _line_column(text, exc.position)
        raise ConfigError(
            f"{name}, line {line}, column {column}: the control character U+{exc.character:04X} "
            "is not allowed in YAML; delete it."
        ) from None
    except YAMLError as exc:  # any other ruamel failure: still one sentence, no traceback
        raise ConfigError(f"{name}: YAML error: {exc}. Fix the file's syntax.") from None
    except RecursionError:  # `[[[[...]]]]` hundreds deep exhausts ruamel's recursive parser
        raise ConfigError(_too_deep(name)) from None
    except ValueError:
        long_number = _LONG_NUMBER.search(text)
        if long_number is None:
            raise  # not the digits limit: a bug of ours or ruamel's, the traceback is for us
        line, _ = _line_column(text, long_number.start())
        raise ConfigError(
            f"{name}, line {line}: a number of more than {_MAX_DIGITS} digits cannot be read; "
            "write the threshold you mean, as a number of sensible size."
        ) from None
    positions: Positions = {}
    return _plain(node, (), positions, _Walk(name, non_finite=non_finite)), positions


def _too_deep(name: str) -> str:
    return (
        f"{name}: the values are nested more than {MAX_DEPTH} levels deep; an mlops-ci "
        "configuration needs three or four. Flatten the lists and mappings."
    )


def _syntax_message(exc: Any, name: str) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"{name}, line {mark.line + 1}, column {mark.column + 1}" if mark else name
    problem = str(exc.problem or exc.context or "invalid YAML").rstrip(".")
    duplicate = re.match(r'found duplicate key "(.*?)"', problem)
    if duplicate:
        return f"{where}: the key {duplicate.group(1)!r} appears twice in one mapping; keep one."
    if "'\\t'" in problem:
        return f"{where}: YAML syntax error: a tab character. Indent with spaces, not tabs."
    return f"{where}: YAML syntax error: {problem}. Fix the indentation or quote the value."


def _line_column(text: str, position: int) -> tuple[int, int]:
    before = text[:position]
    return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1


@dataclass
class _Walk:
    """What the conversion of one document has seen so far: it stops an alias bomb early."""

    name: str  # the file, for messages
    non_finite: bool = False  # `.inf` and `.nan` read as floats instead of refused
    values: int = 0
    uses: dict[int, int] = field(default_factory=dict)  # times each list or mapping was converted

    def count(self, node: object, path: KeyPath, positions: Positions) -> None:
        self.values += 1
        where = at(self.name, positions, path)
        if self.values > MAX_VALUES:
            raise ConfigError(
                f"{where}: {self.name} holds more than {MAX_VALUES} values; an mlops-ci "
                "configuration holds a few hundred. Remove what is not configuration."
            )
        if len(path) > MAX_DEPTH:
            raise ConfigError(_too_deep(self.name))
        if isinstance(node, (dict, list)):  # ruamel hands out one object for all its aliases
            uses = self.uses[id(node)] = self.uses.get(id(node), 0) + 1
            if uses > MAX_ALIAS_USES:
                raise ConfigError(
                    f"{where}: {format_path(path) or 'a value'} repeats, through a YAML alias "
                    f"(`*name`), a list or mapping that is used more than {MAX_ALIAS_USES} times "
                    "in all; write the values out instead of repeating the alias."
                )


def _plain(node: object, path: KeyPath, positions: Positions, walk: _Walk) -> object:
    """ruamel's round-trip objects → dicts, lists, str, int, float, bool; record positions.

    Every value is counted (aliases each time they are used), and numbers no float can hold and
    text no file can hold are refused here, with the line they are on.
    """
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    walk.count(node, path, positions)
    name = walk.name
    if isinstance(node, CommentedMap):
        result: dict[str, object] = {}
        for key, value in node.items():
            position = _position(node, key, path, positions)
            if isinstance(key, str):
                text = str(key)
            elif isinstance(key, (int, float)) and not isinstance(key, bool):
                text = str(key)  # `1: ...` under higher_is_better names the metric "1"
            else:
                line = f", line {position[0] + 1}" if position else ""
                raise ConfigError(
                    f"{name}{line}: the key {describe_value(key)} "
                    f"{f'in {format_path(path)}' if path else 'at the top level'} is not a name; "
                    "quote it."
                )
            here = (*path, text)
            if position:
                positions[here] = position
            _check_text(text, here, positions, name, key=True)
            result[text] = _plain(value, here, positions, walk)
        return result
    if isinstance(node, CommentedSeq):
        items: list[object] = []
        for index, value in enumerate(node):
            here = (*path, index)
            with contextlib.suppress(KeyError, IndexError):
                positions[here] = node.lc.item(index)
            items.append(_plain(value, here, positions, walk))
        return items
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, (int, float)):
        if walk.non_finite and isinstance(node, float) and not math.isfinite(node):
            return float(node)
        return _finite(node, path, positions, name)
    if isinstance(node, str):
        _check_text(node, path, positions, name, key=False)
        return str(node)
    return node  # dates and tagged values: the schema rejects them with their type


def _finite(number: float, path: KeyPath, positions: Positions, name: str) -> int | float:
    """A number a float holds: `.nan`, `.inf` and 400-digit integers are refused, not compared."""
    where = f"{at(name, positions, path)}: {format_path(path) or 'the document'}"
    if isinstance(number, float):
        if math.isfinite(number):
            return float(number)
        written = ".nan" if math.isnan(number) else ("-.inf" if number < 0 else ".inf")
        raise ConfigError(
            f"{where} is {written}, which is not a number a gate can compare with; write a "
            "finite number such as 0.95."
        )
    if abs(number) <= sys.float_info.max:
        return int(number)  # ScalarInt and friends → int
    try:
        digits = f"{len(str(abs(number)))} digits"
    except ValueError:  # a hexadecimal integer can have more digits than Python will print
        digits = f"more than {_MAX_DIGITS} digits"
    raise ConfigError(
        f"{where} is a number of {digits}, larger than any float (about "
        f"{sys.float_info.max:.1e}); write the threshold you mean."
    )


def _check_text(text: str, path: KeyPath, positions: Positions, name: str, *, key: bool) -> None:
    """A lone surrogate (`"\\ud800"` in a quoted string) is no character: no file can hold it."""
    if is_writable_text(text):
        return
    if key:
        parent = format_path(path[:-1])
        what = f"the key {ascii(text)[:80]} {f'in {parent}' if parent else 'at the top level'}"
    else:
        what = f"{format_path(path) or 'the document'} is {ascii(text)[:80]}, which"
    raise ConfigError(
        f"{at(name, positions, path)}: {what} holds an escape such as \\ud800 that is not "
        "a character (a lone surrogate); delete it."
    )


def _position(
    node: Any, key: object, path: KeyPath, positions: Positions
) -> tuple[int, int] | None:
    try:
        line, column = node.lc.key(key)
        return int(line), int(column)
    except (KeyError, TypeError):
        return positions.get(path)  # a key merged in with `<<:` has no line of its own here


def at(name: str, positions: Positions, path: KeyPath) -> str:
    """Where the key at *path* stands, as a message begins: ``mlops.yaml, line 17``."""
    position = positions.get(path)
    return f"{name}, line {position[0] + 1}" if position else name


def line_at(positions: Positions, path: KeyPath) -> int | None:
    """The 1-based line where the key or item at *path* starts; None when ruamel has none."""
    position = positions.get(path)
    return position[0] + 1 if position else None
