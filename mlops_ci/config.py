"""Load and validate mlops.yaml.

Two stages: the file as written is checked against ``schema/mlops.schema.json`` (unknown keys get a
"did you mean" hint), then turned into the resolved objects below. Every error names the file,
the line, the key and the fix.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

from mlops_ci.errors import ConfigError
from mlops_ci.report import CardInfo
from mlops_ci.schemas import (
    CONFIG_SCHEMA,
    deeper_error,
    describe_value,
    format_path,
    is_required_choice,
    is_writable_text,
    join_path,
    missing_keys,
    problem,
    unknown_keys,
    validator,
    value_problem,
)

if TYPE_CHECKING:
    from jsonschema import ValidationError

CONFIG_FILENAME = "mlops.yaml"

RuleName = Literal["min", "max", "max_drop", "max_increase"]


@dataclass(frozen=True)
class GateRule:
    """One threshold of a gate: ``min: 0.95`` or ``max_drop: 2%``."""

    rule: RuleName
    value: float  # the number; for a percentage, the percent (2.0 for "2%")
    text: str  # as written, for messages: "0.95", "2%"
    relative: bool  # a percentage of the base value


@dataclass(frozen=True)
class GateConfig:
    metric: str
    rules: tuple[GateRule, ...]
    severity: Literal["error", "warning"]
    index: int  # position in the `gates` list
    line: int | None  # 1-based line of the gate's first key in mlops.yaml


@dataclass(frozen=True)
class ModelConfig:
    name: str
    path: str  # the model file, relative to the repo root (a DVC out)
    task: str = "binary-classification"
    library: str = "sklearn"


@dataclass(frozen=True)
class MetricsConfig:
    files: tuple[str, ...] = ()  # empty: every metrics file dvc.yaml declares
    primary: str | None = None
    higher_is_better: dict[str, bool] = field(default_factory=dict)  # default True
    primary_line: int | None = None  # 1-based line of `primary:` in mlops.yaml, for messages

    def is_higher_better(self, name: str) -> bool:
        return self.higher_is_better.get(name, True)


@dataclass(frozen=True)
class ReportConfig:
    title: str = "Model report"
    digits: int = 4
    template_dir: str | None = None  # user templates; they win over the packaged ones


@dataclass(frozen=True)
class CommentConfig:
    mode: Literal["update", "new", "off"] = "update"
    key: str = "default"  # one sticky comment per PR and per key


@dataclass(frozen=True)
class Config:
    path: Path
    model: ModelConfig
    metrics: MetricsConfig
    gates: tuple[GateConfig, ...]
    card: CardInfo
    report: ReportConfig
    comment: CommentConfig

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def user_template_dir(self) -> Path | None:
        """`report.template_dir` resolved against the repository root; None when unset."""
        configured = self.report.template_dir
        return self.root / configured if configured else None


# A path into the document: ("gates", 1, "max_drop").
KeyPath = tuple[str | int, ...]
# Where each key or list item starts in the file: 0-based (line, column), as ruamel counts.
Positions = dict[KeyPath, tuple[int, int]]

_PERCENT = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*%\s*$")
_RULES: tuple[RuleName, ...] = ("min", "max", "max_drop", "max_increase")

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


def load_config(path: Path) -> Config:
    """Read, validate and resolve *path*; raise ConfigError naming file, line, key and fix.

    *path* is the mlops.yaml file, or the directory that holds it.
    """
    if path.is_dir():
        path = path / CONFIG_FILENAME
    document, positions = _parse(_read(path), path.name)
    _validate(document, positions, path.name)
    return _resolve(document, positions, path)


# --- stage 0: the text -----------------------------------------------------------------------


def _read(path: Path) -> str:
    try:
        data = path.read_bytes()
        return data.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"No {path.name} in {path.parent.resolve()}. Run `mlops-ci init` to scaffold a "
            "project, or write one (see docs/configuration.md)."
        ) from None
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path.name}, line {line}: the file is not UTF-8 text (byte {exc.start}); "
            "save it with UTF-8 encoding."
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration ({exc.strerror}).") from None


# --- stage 1a: YAML → plain data with positions ------------------------------------------------


def _parse(text: str, name: str) -> tuple[object, Positions]:
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
    return _plain(node, (), positions, _Walk(name)), positions


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
    values: int = 0
    uses: dict[int, int] = field(default_factory=dict)  # times each list or mapping was converted

    def count(self, node: object, path: KeyPath, positions: Positions) -> None:
        self.values += 1
        where = _at(self.name, positions, path)
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
        return _finite(node, path, positions, name)
    if isinstance(node, str):
        _check_text(node, path, positions, name, key=False)
        return str(node)
    return node  # dates and tagged values: the schema rejects them with their type


def _finite(number: float, path: KeyPath, positions: Positions, name: str) -> int | float:
    """A number a float holds: `.nan`, `.inf` and 400-digit integers are refused, not compared."""
    where = f"{_at(name, positions, path)}: {format_path(path) or 'the document'}"
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
        f"{_at(name, positions, path)}: {what} holds an escape such as \\ud800 that is not "
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


# --- stage 1b: the schema ------------------------------------------------------------------------


def _validate(document: object, positions: Positions, name: str) -> None:
    if document is None:
        raise ConfigError(
            f"{name} is empty; model is required: {_description(('model',))}."
        )
    errors = list(validator(CONFIG_SCHEMA).iter_errors(document))
    if errors:
        best = min(errors, key=lambda e: _rank(e, positions))
        raise ConfigError(_message(best, positions, name))


def _rank(error: ValidationError, positions: Positions) -> tuple[int, int]:
    """Unknown keys first (a typo also causes "missing" errors), then in reading order."""
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        key = unknown_keys(error)[0]
        return 0, _line_of(positions, (*path, key))
    if error.validator == "required" or is_required_choice(error):
        return 2, _line_of(positions, path)
    return 1, _line_of(positions, path)


def _line_of(positions: Positions, path: KeyPath) -> int:
    position = positions.get(path)
    return position[0] if position else -1


def _message(error: ValidationError, positions: Positions, name: str) -> str:
    path: KeyPath = tuple(error.absolute_path)
    dotted = format_path(path)
    kind = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}

    if "propertyNames" in error.absolute_schema_path:
        return f"{_at(name, positions, path)}: {problem(error)}."

    if kind == "additionalProperties":
        key = unknown_keys(error)[0]
        where = f"in {dotted}" if path else "at the top level"
        valid = list(schema.get("properties", {}))
        text = f"{_at(name, positions, (*path, key))}: unknown key {key!r} {where}"
        match = difflib.get_close_matches(key, valid, n=1)
        if match:
            return f"{text}; did you mean {match[0]!r}?"
        section = _section_of(key) if not path else None
        if section:
            return f"{text}; it belongs under {section!r}, as {section}.{key}."
        return f"{text}. Valid keys: {', '.join(valid)}."

    if kind == "required":
        key = missing_keys(error)[0]
        full = join_path(path, key)
        return f"{_at(name, positions, path)}: {full} is required: {_description((*path, key))}."

    if kind in ("anyOf", "oneOf"):
        deeper = deeper_error(error)
        if deeper is not None:
            return _message(deeper, positions, name)
        if is_required_choice(error):
            keys = [branch["required"][0] for branch in error.validator_value]
            metric = error.instance.get("metric") if isinstance(error.instance, dict) else None
            which = f" (metric {metric!r})" if isinstance(metric, str) else ""
            return (
                f"{_at(name, positions, path)}: {dotted}{which} has no rule; add at least one of "
                f"{', '.join(keys)}, e.g. `min: 0.9` or `max_drop: 2%`."
            )

    if kind == "type" and not path:
        return (
            f"{name}: the top level must be a mapping of keys such as `model:` and `gates:`, "
            f"not {describe_value(error.instance)}."
        )

    text = f"{_at(name, positions, path)}: {dotted} "
    text += value_problem(kind, error.instance, error.validator_value, schema)
    if kind == "enum" and isinstance(error.instance, str):
        options = [str(v) for v in error.validator_value]
        match = difflib.get_close_matches(error.instance, options, n=1)
        if match:
            return f"{text}; did you mean {match[0]!r}?"
    if kind == "type" and "string" in _types(schema) and not isinstance(error.instance, dict):
        return f"{text}; quote it to make it text."
    leaf = _schema_at(path) or {}
    description = leaf.get("description")
    if kind in ("type", "anyOf", "pattern") and description and path:
        return f"{text}. `{path[-1]}`: {description}."
    return f"{text}."


def _types(schema: dict[str, Any]) -> list[str]:
    types = schema.get("type", [])
    return [types] if isinstance(types, str) else list(types)


def _at(name: str, positions: Positions, path: KeyPath) -> str:
    position = positions.get(path)
    return f"{name}, line {position[0] + 1}" if position else name


def _section_of(key: str) -> str | None:
    """The section a misplaced top-level key belongs to, e.g. 'primary' → 'metrics'."""
    sections = _config_schema()["properties"]
    for section, schema in sections.items():
        if key in schema.get("properties", {}):
            return str(section)
    return None


def _config_schema() -> dict[str, Any]:
    return cast("dict[str, Any]", validator(CONFIG_SCHEMA).schema)  # parsed once, cached


def _description(path: KeyPath) -> str:
    """The schema's description of the key at *path*: the hint our messages end with."""
    schema = _schema_at(path)
    return str(schema.get("description", "")) if schema else ""


def _schema_at(path: KeyPath) -> dict[str, Any] | None:
    root = _config_schema()
    schema: dict[str, Any] | None = root
    for part in path:
        if schema is None:
            return None
        schema = _deref(schema)
        if isinstance(part, int):
            schema = schema.get("items")
        else:
            schema = schema.get("properties", {}).get(part)
    return schema


def _deref(schema: dict[str, Any]) -> dict[str, Any]:
    root = _config_schema()
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return cast("dict[str, Any]", root["$defs"][ref.rsplit("/", 1)[1]])
    return schema


# --- stage 2: resolve ------------------------------------------------------------------------


def _resolve(document: object, positions: Positions, path: Path) -> Config:
    data = cast("dict[str, Any]", document)
    name = path.name

    def section(key: str) -> dict[str, Any]:
        return dict(data.get(key) or {})  # a key left empty (`card:`) means its defaults

    model = data["model"]
    _check_relative(model["path"], ("model", "path"), positions, name)
    metrics = section("metrics")
    files = _as_tuple(metrics.get("files"))
    for index, file in enumerate(files):
        one = isinstance(metrics["files"], str)
        _check_relative(file, ("metrics", "files", *(() if one else (index,))), positions, name)
    report = section("report")
    template_dir = report.get("template_dir")
    if template_dir is not None:
        _check_relative(template_dir, ("report", "template_dir"), positions, name)
        if not (path.parent / template_dir).is_dir():
            raise ConfigError(
                f"{_at(name, positions, ('report', 'template_dir'))}: report.template_dir "
                f"{template_dir!r} is not a directory in the repository. Create it and put your "
                "templates there, or remove the key."
            )
    card = section("card")
    comment = section("comment")
    return Config(
        path=path,
        model=ModelConfig(
            name=model["name"],
            path=model["path"],
            task=model.get("task", ModelConfig.task),
            library=model.get("library", ModelConfig.library),
        ),
        metrics=MetricsConfig(
            files=files,
            primary=metrics.get("primary"),
            higher_is_better=dict(metrics.get("higher_is_better") or {}),
            primary_line=_line(positions, ("metrics", "primary")),
        ),
        gates=tuple(
            _gate(gate, index, positions, name)
            for index, gate in enumerate(data.get("gates") or [])
        ),
        card=CardInfo(**{key: _card_value(key, value) for key, value in card.items()}),
        report=ReportConfig(
            title=report.get("title", ReportConfig.title),
            digits=int(report.get("digits", ReportConfig.digits)),
            template_dir=template_dir,
        ),
        comment=CommentConfig(
            mode=comment.get("mode", CommentConfig.mode),
            key=comment.get("key", CommentConfig.key),
        ),
    )


def _gate(gate: Mapping[str, Any], index: int, positions: Positions, name: str) -> GateConfig:
    rules = tuple(_rule(key, gate[key]) for key in gate if key in _RULES)
    bounds = {rule.rule: rule.value for rule in rules}
    if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
        raise ConfigError(
            f"{_at(name, positions, ('gates', index))}: gates[{index}] has min {gate['min']} "
            f"above max {gate['max']}, so no value can pass; fix one of them."
        )
    return GateConfig(
        metric=gate["metric"],
        rules=rules,
        severity=gate.get("severity", "error"),
        index=index,
        line=_line(positions, ("gates", index)),
    )


def _line(positions: Positions, path: KeyPath) -> int | None:
    """The 1-based line where the key or item at *path* starts; None when ruamel has none."""
    position = positions.get(path)
    return position[0] + 1 if position else None


def _rule(rule: RuleName, value: float | str) -> GateRule:
    """The schema has checked the shape: a number, or (for drops and increases) "N%"."""
    if isinstance(value, str):
        match = _PERCENT.match(value)
        assert match is not None  # guaranteed by the schema's pattern
        return GateRule(rule=rule, value=float(match.group(1)), text=value.strip(), relative=True)
    return GateRule(rule=rule, value=float(value), text=repr(value), relative=False)


def _check_relative(value: str, key: KeyPath, positions: Positions, name: str) -> None:
    """Paths stay inside the repository: they are read and published from there."""
    parts = Path(value).parts
    if Path(value).is_absolute() or ".." in parts:
        raise ConfigError(
            f"{_at(name, positions, key)}: {format_path(key)} must be a path relative to the "
            f"repository root, not {value!r}."
        )


def _as_tuple(value: str | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def _card_value(key: str, value: Any) -> Any:
    # The list fields accept one string for convenience (`language: en`), as HF cards do.
    return list(_as_tuple(value)) if key in ("owners", "tags", "datasets", "language") else value
