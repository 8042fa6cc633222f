"""mlops.yaml against its JSON Schema: the first error, as one message with its line and fix.

Of all the schema's complaints about a document, the one a user should read first is chosen
(an unknown key before a missing one, which a typo also causes; then in reading order), then
worded: an unknown key gets the closest valid one ("did you mean"), a key at the wrong level
names its section, a bad value ends with the schema's description of the key.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from mlops_ci.config_yaml import KeyPath, Positions, line_at
from mlops_ci.config_yaml import at as _at
from mlops_ci.errors import ConfigError, Location
from mlops_ci.schemas import (
    CONFIG_SCHEMA,
    deeper_error,
    describe_value,
    format_path,
    is_required_choice,
    join_path,
    missing_keys,
    problem,
    unknown_keys,
    validator,
    value_problem,
)

if TYPE_CHECKING:
    from jsonschema import ValidationError


def validate_config(document: object, positions: Positions, name: str) -> None:
    errors = list(validator(CONFIG_SCHEMA).iter_errors(document))
    if errors:
        best = min(errors, key=lambda e: _rank(e, positions))
        key = _error_key(best)
        raise ConfigError(_message(best, positions, name)).located(
            Location(Path(name), line_at(positions, key), format_path(key) or None)
        )  # load_config puts the file's whole path in


def _error_key(error: ValidationError) -> KeyPath:
    """The key an error is about: an unknown key itself, else where the schema failed."""
    path: KeyPath = tuple(error.absolute_path)
    if error.validator == "additionalProperties":
        return (*path, unknown_keys(error)[0])
    return path


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
