"""The packaged JSON Schemas, and what their violations mean in plain words.

``schema/mlops.schema.json`` describes mlops.yaml as written; ``schema/report.schema.json``
describes a Report as ``Report.to_dict()`` writes it. Both ship in the wheel. jsonschema's own
messages are never shown to users: :func:`problem` turns a violation into "<key path> <what is
wrong>", which the config loader and the report validator wrap into their sentences.
"""

from __future__ import annotations

import datetime
import json
import math
import re
import sys
from collections.abc import Iterable, Iterator
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, cast

from mlops_ci.errors import InputError
from mlops_ci.report import SCHEMA_VERSION

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, ValidationError

REPORT_SCHEMA = "report.schema.json"
CONFIG_SCHEMA = "mlops.schema.json"

# The Report versions this code reads: its own major, minors up to the one it writes (minor
# versions only ever add keys).
SUPPORTED_REPORT_MAJOR = int(SCHEMA_VERSION.split(".")[0])
_READ_MINOR = int(SCHEMA_VERSION.split(".")[1])

KeyPath = tuple[str | int, ...]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

_TYPE_PHRASES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "null": "empty",
}


def load_schema(name: str) -> dict[str, Any]:
    """The packaged schema *name* (e.g. ``"report.schema.json"``), as a fresh dict."""
    text = resources.files("mlops_ci").joinpath("schema").joinpath(name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def validator(name: str) -> Draft202012Validator:
    """A Draft 2020-12 validator for the packaged schema *name*, built once per process."""
    from jsonschema import Draft202012Validator, validators

    # JSON Schema counts 4.0 as an integer; Python would then fail on f"{x:.{4.0}f}" downstream.
    strict_integers = Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool)
    )
    strict = validators.extend(Draft202012Validator, type_checker=strict_integers)
    return cast("Draft202012Validator", strict(load_schema(name)))


def validate_report(data: object, *, source: str) -> None:
    """Raise InputError unless *data* is a Report this version of mlops-ci can read.

    Report artifacts can come from fork pull requests, so nothing in them is trusted before this
    passes: types, lengths and the absence of unknown keys are all checked.
    """
    where = f"{source}: not a mlops-ci report:"
    if not isinstance(data, dict):
        raise InputError(f"{where} the document must be a JSON object, not {describe_value(data)}.")
    version = data.get("schema_version")
    version = version if isinstance(version, str) else ""
    parts = re.fullmatch(r"([0-9]+)\.([0-9]+)", version)
    if parts and int(parts.group(1)) != SUPPORTED_REPORT_MAJOR:
        raise InputError(
            f"{where} schema_version {version!r} is not supported; this mlops-ci reads "
            f"{SUPPORTED_REPORT_MAJOR}.x reports, so use the mlops-ci version that wrote it."
        )
    if parts and int(parts.group(2)) > _READ_MINOR:
        # A newer minor may carry keys whose meaning this reader cannot check: refused, never
        # half-read (the document may come from a fork). docs/report.md states the policy.
        raise InputError(
            f"{where} schema_version {version!r} is newer than this mlops-ci reads (up to "
            f"{SCHEMA_VERSION}). Read it with the mlops-ci version that wrote it, or a newer one."
        )
    violation = report_violation(data)
    if violation is not None:
        raise InputError(f"{where} {violation[1]}.")


def report_violation(data: dict[str, Any]) -> tuple[KeyPath, str] | None:
    """The first way *data* breaks the Report schema, as (key path, "<key path> <problem>").

    Beyond what JSON Schema can say: numbers are finite and within a float's range (JSON has no
    NaN and holds 10**400, but readers differ on both), and text is Unicode that UTF-8 can write.
    """
    try:
        error = next(validator(REPORT_SCHEMA).iter_errors(data), None)
        if error is not None:
            return tuple(error.absolute_path), problem(error)
        for path, value in _walk(data, ()):
            if isinstance(value, str) and not is_writable_text(value):
                return path, f"{format_path(path)} holds {ascii(value)[:80]}, which is not text"
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            if isinstance(value, float) and not math.isfinite(value):
                return path, f"{format_path(path)} must be a finite number, not {value}"
            if abs(value) > sys.float_info.max:
                return path, f"{format_path(path)} must be a number a float can hold"
    except RecursionError:  # params nested thousands deep: no writer of ours does that
        return (), "its values are nested too deeply"
    return None


def check_report_limits(data: dict[str, Any]) -> None:
    """Refuse to write a Report that `gate`, `card` and `comment` would refuse to read.

    The Report schema is the one set of limits (10,000 metrics, 500-character names, ...); this
    runs before anything is written, and names the metrics or params file the problem came from.
    """
    violation = report_violation(data)
    if violation is None:
        return
    path, text = violation
    fix = "Change the stage that writes it; nothing was written."
    section = path[0] if path else None
    entries = data.get(section) if isinstance(section, str) else None
    if section in ("metrics", "params") and isinstance(entries, list):
        kind = "metric" if section == "metrics" else "param"
        files = sorted({str(e.get("file")) for e in entries if isinstance(e, dict)})
        if len(path) == 1:
            limit = validator(REPORT_SCHEMA).schema["properties"][section].get("maxItems")
            verb = "holds" if len(files) == 1 else "hold"
            raise InputError(
                f"{' and '.join(files) or 'The files'} {verb} {len(entries)} {kind}s, more than "
                f"the {limit} a report can hold. Write fewer, or choose the files with "
                "metrics.files in mlops.yaml; nothing was written."
            )
        entry = entries[path[1]] if isinstance(path[1], int) else {}
        if isinstance(entry, dict):
            raise InputError(
                f"{entry.get('file')}: the {kind} {describe_value(entry.get('name'))} cannot go "
                f"into the report: {text}. {fix}"
            )
    if section == "params_head":
        detail = f" (the param {describe_value(path[1])})" if len(path) > 1 else ""
        raise InputError(f"The params cannot go into the report{detail}: {text}. {fix}")
    raise InputError(f"The report cannot be written: {text}. {fix}")


def is_writable_text(text: str) -> bool:
    """Whether UTF-8 can write *text*: not when it holds a lone surrogate such as U+D800."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: JSON's "\\ud800" reads back as one
        return False
    return True


def problem(error: ValidationError) -> str:
    """One violation as "<key path> <what is wrong>", e.g. "gates[1].min must be a number"."""
    path = format_path(error.absolute_path)
    kind = error.validator
    value = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    if "propertyNames" in error.absolute_schema_path:  # the instance is a key, not a value
        if kind == "maxLength":
            return f"{path} has a key that is too long (at most {error.validator_value} characters)"
        return f"{path} has a key that {value_problem(kind, value, error.validator_value, schema)}"
    if kind == "additionalProperties":
        return f"{path or 'the top level'} has an unexpected key {unknown_keys(error)[0]!r}"
    if kind == "required":
        missing = missing_keys(error)
        return f"{join_path(error.absolute_path, missing[0])} is missing"
    if kind in ("anyOf", "oneOf"):
        deeper = deeper_error(error)
        if deeper is not None:
            return problem(deeper)
        if is_required_choice(error):
            keys = [branch["required"][0] for branch in error.validator_value]
            return f"{path} needs at least one of {', '.join(keys)}"
    return f"{path or 'the document'} {value_problem(kind, value, error.validator_value, schema)}"


def value_problem(kind: object, value: object, expected: Any, schema: dict[str, Any]) -> str:
    """What is wrong with one value, e.g. "must be one of a, b, not 'c'"."""
    shown = describe_value(value)
    if kind == "enum" and schema.get("title"):  # a long list, described in words
        return f"must be {schema['title']}, not {shown}"
    if kind == "enum":
        return f"must be one of {', '.join(_plain(v) for v in expected)}, not {shown}"
    if kind == "const":
        return f"must be {schema.get('title') or _plain(expected)}, not {shown}"
    if kind == "minLength" and expected == 1:
        return "must not be empty"
    if kind == "maxLength":
        return f"is too long ({len(str(value))} characters; at most {expected})"
    if kind in ("maxItems", "maxProperties"):
        return f"has too many entries (at most {expected})"
    if kind in ("minimum", "maximum") and "title" not in schema:
        word = "at least" if kind == "minimum" else "at most"
        return f"must be {word} {_plain(expected)}, not {shown}"
    return f"must be {expected_phrase(schema)}, not {shown}"


def expected_phrase(schema: dict[str, Any]) -> str:
    """What a value matching *schema* looks like: its title, or its type in words."""
    title = schema.get("title")
    if isinstance(title, str):
        return title
    types = schema.get("type")
    names = [types] if isinstance(types, str) else list(types or [])
    names = [t for t in names if t != "null"] or names
    phrases = [_TYPE_PHRASES.get(t, t) for t in names]
    return " or ".join(phrases) if phrases else "a valid value"


def deeper_error(error: ValidationError) -> ValidationError | None:
    """For an anyOf that failed, the error inside the branch that matched the value's shape.

    ``owners: [alice, 3]`` fails "string" and "list of strings"; the useful message is about
    ``owners[1]``, the only error found below the value itself.
    """
    for sub in error.context or ():
        if sub.relative_path:
            deeper = deeper_error(sub) if sub.validator in ("anyOf", "oneOf") else None
            return deeper or sub
    return None


def is_required_choice(error: ValidationError) -> bool:
    """The anyOf means "at least one of these keys" (every branch is a lone `required`)."""
    branches = error.validator_value
    return isinstance(branches, list) and all(
        isinstance(b, dict) and set(b) == {"required"} and len(b["required"]) == 1 for b in branches
    )


def unknown_keys(error: ValidationError) -> list[str]:
    """The keys an ``additionalProperties: false`` error is about, in the document's order."""
    allowed = set(error.schema.get("properties", {}))
    patterns = list(error.schema.get("patternProperties", {}))
    return [
        str(key) for key in error.instance
        if key not in allowed and not any(re.search(p, str(key)) for p in patterns)
    ]


def missing_keys(error: ValidationError) -> list[str]:
    required = error.validator_value if isinstance(error.validator_value, list) else []
    return [str(key) for key in required if key not in error.instance]


def format_path(path: Iterable[str | int]) -> str:
    """``("gates", 1, "max_drop")`` → ``gates[1].max_drop``; odd keys are quoted: ``a["x.y"]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(part)}]"
    return text


def join_path(path: Iterable[str | int], key: str) -> str:
    return format_path([*path, key])


def describe_value(value: object) -> str:
    """A value as a message shows it: 'abc', 3, true, an empty value, a list, a mapping."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return repr(shown)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (datetime.date, datetime.time)):
        return f"the {type(value).__name__} {value.isoformat()}"
    return f"a {type(value).__name__}"


def _plain(value: object) -> str:
    return describe_value(value) if not isinstance(value, str) else value


def _walk(value: object, path: KeyPath) -> Iterator[tuple[KeyPath, object]]:
    """Every value, and every key of a mapping (as a value at its own path)."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key), key
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))
