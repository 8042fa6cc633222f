"""GitHub's OpenAPI description as a request (and response) validator for the local API.

The description is the slice ``scripts/slice_openapi.py`` cut from the npm package
``@octokit/openapi``. It is OpenAPI 3.0, whose schemas are JSON Schema draft 4 plus ``nullable``
and ``discriminator``; :func:`to_json_schema` rewrites those two so ``jsonschema`` can judge them.

Where GitHub is lenient and a lenient fake would hide a client bug, the validator is stricter
than GitHub, on purpose: a request body may not carry a property the description does not name
(GitHub silently ignores a misspelt ``"bdy"``), and a query parameter must be documented.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT4

DESCRIPTION_FILE = Path(__file__).resolve().parent.parent / "fixtures" / "github-openapi.json"
_URN = "urn:github-openapi"
DOCS_URL = "https://docs.github.com/rest"

_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


@_FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme and (parts.netloc or parts.scheme in {"mailto", "urn"}))


class Rejection(Exception):
    """The description rejects the request: GitHub would answer ``status`` with this body."""

    def __init__(self, status: int, message: str, errors: list[Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "documentation_url": DOCS_URL}
        if self.errors:
            body["errors"] = self.errors
        body["status"] = str(self.status)
        return body


@dataclass
class Operation:
    """One documented method on one path template, e.g. ``POST /repos/{owner}/{repo}/...``."""

    method: str
    template: str
    pointer: str  # JSON pointer of the operation object inside the description
    spec: dict[str, Any]
    # ("path" | "query", name) -> (the parameter object, JSON pointer of its schema)
    parameters: dict[tuple[str, str], tuple[dict[str, Any], str]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.method.upper()} {self.template}"


def to_json_schema(node: Any, *, strict_objects: bool = False) -> Any:
    """Rewrite OpenAPI 3.0 schema keywords into JSON Schema draft 4.

    ``nullable: true`` becomes a ``"null"`` type (or an ``anyOf`` with null when the schema has
    no ``type``); ``oneOf`` with a ``discriminator`` becomes ``anyOf``, because GitHub's
    alternatives (private and public user) overlap and only the discriminator tells them apart.
    ``strict_objects`` forbids properties a schema does not name (used for request bodies).
    """
    if isinstance(node, list):
        return [to_json_schema(item, strict_objects=strict_objects) for item in node]
    if not isinstance(node, dict):
        return node
    out = {
        key: (
            {name: to_json_schema(s, strict_objects=strict_objects) for name, s in value.items()}
            if key == "properties" and isinstance(value, dict)
            else to_json_schema(value, strict_objects=strict_objects)
        )
        for key, value in node.items()
        if key not in {"nullable", "discriminator"}
    }
    if "discriminator" in node and "oneOf" in out:
        out["anyOf"] = out.pop("oneOf")
    if strict_objects and "properties" in out and "additionalProperties" not in out:
        out["additionalProperties"] = False
    if node.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _coerce(raw: str, schema: dict[str, Any]) -> Any:
    """A path or query string as the JSON value its schema expects; ValueError if impossible."""
    kind = schema.get("type")
    if kind == "integer":
        if not re.fullmatch(r"-?\d+", raw):
            raise ValueError(raw)
        return int(raw)
    if kind == "number":
        return float(raw)
    if kind == "boolean":
        if raw not in {"true", "false"}:
            raise ValueError(raw)
        return raw == "true"
    return raw


def _problems(validator: Draft4Validator, instance: Any) -> list[str]:
    """Every violation, shallowest first, each naming where it is."""
    problems = []
    for error in sorted(validator.iter_errors(instance), key=lambda e: (len(e.path), e.message)):
        where = "/".join(str(part) for part in error.absolute_path)
        problems.append(f"{error.message} (at {where})" if where else error.message)
    return problems


class Description:
    """The sliced description, ready to match paths and validate requests and responses."""

    def __init__(self, path: Path = DESCRIPTION_FILE) -> None:
        self.raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        self.info: dict[str, Any] = self.raw["info"]
        self._schema_doc = to_json_schema(self.raw)
        self._strict_doc = to_json_schema(self.raw, strict_objects=True)
        self._registry: Registry[Any] = Registry().with_resources(
            [
                (_URN, DRAFT4.create_resource(self._schema_doc)),
                (_URN + "-strict", DRAFT4.create_resource(self._strict_doc)),
            ]
        )
        self.operations: list[Operation] = []
        for template, item in self.raw["paths"].items():
            for method, spec in item.items():
                if method == "parameters":
                    continue
                pointer = f"/paths/{_escape(template)}/{method}"
                operation = Operation(method, template, pointer, spec)
                located = [
                    (f"/paths/{_escape(template)}/parameters/{i}", p)
                    for i, p in enumerate(item.get("parameters", []))
                ] + [
                    (f"{pointer}/parameters/{i}", p)
                    for i, p in enumerate(spec.get("parameters", []))
                ]
                for where, param in located:
                    if "$ref" in param:
                        where = param["$ref"].removeprefix("#")
                        param = self._pointer(where)
                    operation.parameters[(param["in"], param["name"])] = (param, f"{where}/schema")
                self.operations.append(operation)
        # Literal segments win over placeholders, as in GitHub's router.
        self.operations.sort(key=lambda op: -sum("{" not in s for s in op.template.split("/")))
        self._validators: dict[str, Draft4Validator] = {}

    def operation(self, key: str) -> Operation:
        """The operation named ``"METHOD /template"``; KeyError if the slice lacks it."""
        for operation in self.operations:
            if operation.key == key:
                return operation
        raise KeyError(key)

    def validator(self, pointer: str, *, strict: bool = False) -> Draft4Validator:
        """A validator for the schema at ``pointer`` inside the (converted) description."""
        uri = f"{_URN}-strict#{pointer}" if strict else f"{_URN}#{pointer}"
        if uri not in self._validators:
            self._validators[uri] = Draft4Validator(
                {"$ref": uri}, registry=self._registry, format_checker=_FORMATS
            )
        return self._validators[uri]

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]]:
        """The operation for a request path (no prefix, no query), with its raw path values."""
        segments = path.split("/")
        path_known = False
        for operation in self.operations:
            pattern = operation.template.split("/")
            if len(pattern) != len(segments):
                continue
            values: dict[str, str] = {}
            for want, got in zip(pattern, segments, strict=True):
                if want.startswith("{") and want.endswith("}") and got:
                    values[want[1:-1]] = got
                elif want != got:
                    break
            else:
                path_known = True
                if operation.method == method.lower():
                    return operation, values
        if path_known:
            raise Rejection(404, f"Not Found: GitHub's OpenAPI description has no {method} {path}")
        raise Rejection(404, f"Not Found: GitHub's OpenAPI description has no path {path}")

    def check_request(
        self,
        operation: Operation,
        path_values: dict[str, str],
        query: dict[str, list[str]],
        body: bytes,
    ) -> tuple[dict[str, Any], Any]:
        """Validate parameters and body; return the typed parameters and the parsed body."""
        params: dict[str, Any] = {}
        for name, raw in path_values.items():
            schema = operation.parameters[("path", name)][0]["schema"]
            try:
                params[name] = _coerce(raw, schema)
            except ValueError:
                raise Rejection(
                    404, f"Not Found: path parameter {name}={raw!r} is not {schema.get('type')}"
                ) from None
        for name, raws in query.items():
            if ("query", name) not in operation.parameters:
                raise Rejection(
                    422, f"Query parameter {name!r} is not documented for {operation.key}."
                )
            param, schema_pointer = operation.parameters[("query", name)]
            if len(raws) != 1:
                raise Rejection(422, f"Query parameter {name!r} is given {len(raws)} times.")
            try:
                value = _coerce(raws[0], param["schema"])
            except ValueError:
                raise Rejection(
                    422, f"Query parameter {name}={raws[0]!r} is not {param['schema'].get('type')}."
                ) from None
            problems = _problems(self.validator(schema_pointer), value)
            if problems:
                raise Rejection(
                    422, f"Query parameter {name}={raws[0]!r} is invalid: {problems[0]}"
                )
            params[name] = value
        for (where, name), (param, _) in operation.parameters.items():
            if where == "query" and param.get("required") and name not in params:
                raise Rejection(422, f"Query parameter {name!r} is required by {operation.key}.")

        request_body = operation.spec.get("requestBody")
        if request_body is None:
            if body.strip():
                raise Rejection(400, f"{operation.key} takes no request body.")
            return params, None
        if "application/json" not in request_body.get("content", {}):
            return params, body  # a release asset's bytes: the uploads server checks them
        if not body.strip():
            if request_body.get("required"):
                raise Rejection(400, "Problems parsing JSON: the request body is empty.")
            return params, None
        try:
            parsed = json.loads(body)
        except ValueError as exc:
            raise Rejection(400, f"Problems parsing JSON: {exc}") from None
        pointer = f"{operation.pointer}/requestBody/content/application~1json/schema"
        problems = _problems(self.validator(pointer, strict=True), parsed)
        if problems:
            raise Rejection(
                422,
                "Invalid request.\n\n" + "\n".join(problems),
                [{"resource": operation.spec.get("operationId", ""), "code": "invalid",
                  "message": problem} for problem in problems],
            )
        return params, parsed

    def check_response(self, operation: Operation, status: int, body: Any) -> str | None:
        """Why the description rejects a response the fake produced, or None."""
        responses = operation.spec.get("responses", {})
        if str(status) not in responses:
            return f"{operation.key} does not document status {status}"
        response = responses[str(status)]
        pointer = f"{operation.pointer}/responses/{status}"
        if "$ref" in response:
            pointer = response["$ref"].removeprefix("#")
            response = self._pointer(pointer)
        if "application/json" not in response.get("content", {}):
            # GitHub describes some error answers without their body (the upload's 422 has one,
            # with ``errors``); only a success without a described body must have none.
            if body is None or status >= 400:
                return None
            return f"{operation.key} {status} documents no body"
        problems = _problems(self.validator(f"{pointer}/content/application~1json/schema"), body)
        return f"{operation.key} {status}: {'; '.join(problems)}" if problems else None

    def _pointer(self, pointer: str) -> Any:
        node: Any = self.raw
        for part in pointer.strip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node
