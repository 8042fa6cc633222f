"""Saving and loading a model, safely: the only place in mlops-ci that unpickles.

A model file is either a skops file (``skops.io``: a zip archive of a JSON schema and numpy
arrays, which loads without running code from the file) or a pickle (``pickle``/``joblib``,
which runs whatever code the file names when it loads). skops is the default and the only
format :func:`load_model` reads unless the caller passes ``allow_pickle=True``.

A skops file is loaded only with the types recorded as trusted when it was saved
(:func:`save_model` returns them; a release records and signs them): a file that needs any
other type is refused before anything in it is built, even a type skops trusts by default.

The format is read from the file's first bytes, and a file whose name says otherwise
(a pickle named ``model.skops``) is refused. See docs/models.md.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from mlops_ci.errors import InputError
from mlops_ci.security import read_regular_file

Format = Literal["skops", "joblib", "pickle"]
FORMATS: tuple[str, ...] = ("skops", "joblib", "pickle")
PICKLE_FORMATS = ("joblib", "pickle")

# What a file's name says it is. joblib and pickle are the same bytes (joblib pickles, maybe
# compressed), so both suffixes name the pickle family.
_SUFFIXES: dict[str, str] = {
    ".skops": "skops",
    ".joblib": "pickle",
    ".pkl": "pickle",
    ".pickle": "pickle",
}
_ZIP_MAGIC = b"PK\x03\x04"
# The first bytes of a pickle (protocol 2 and later start with PROTO, 0x80) and of the
# compressed pickles joblib writes (zlib, gzip, bz2, xz, lzma, lz4).
_PICKLE_MAGIC = (
    b"\x80",
    b"\x78",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ",
    b"\x5d\x00\x00",
    b"\x04\x22M\x18",
)

SKOPS_EXTRA = "mlops-ci[release]"


def _skops_io() -> Any:
    """skops.io, or an error naming the extra that installs it."""
    try:
        import skops.io as sio
    except ImportError as exc:
        raise InputError(
            f"Saving or loading a skops model needs skops, which is not installed. "
            f"Install it with: pip install '{SKOPS_EXTRA}'."
        ) from exc
    return sio


def _schema_types(node: object, found: set[str]) -> None:
    """Every ``module.Class`` that a skops schema (parsed JSON, not objects) names."""
    if isinstance(node, dict):
        module, cls = node.get("__module__"), node.get("__class__")
        if isinstance(module, str) and isinstance(cls, str):
            found.add(f"{module}.{cls}")
        for value in node.values():
            _schema_types(value, found)
    elif isinstance(node, list):
        for value in node:
            _schema_types(value, found)


def skops_types(path: Path, data: bytes | None = None) -> list[str]:
    """The types a skops file needs, read without building anything from it.

    The union of the types its schema names and of those ``skops.io.get_untrusted_types``
    reports (the types skops does not trust by default), sorted. *data* is the file's
    content when already read.
    """
    sio = _skops_io()
    if data is None:
        data = read_model_bytes(path)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = json.loads(archive.read("schema.json"))
        untrusted = sio.get_untrusted_types(data=data)
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise InputError(f"{path} is not a readable skops file ({exc}).") from exc
    found: set[str] = set(untrusted)
    _schema_types(schema, found)
    return sorted(found)


def read_model_bytes(path: Path) -> bytes:
    """The bytes of the model file *path*: a regular file, read once (checked bytes = loaded)."""
    try:
        return read_regular_file(path, what="The model file")
    except OSError as exc:
        raise InputError(f"Cannot read the model file {path}: {exc.strerror or exc}.") from exc


def detect_format(path: Path, data: bytes | None = None) -> str:
    """``"skops"`` or ``"pickle"``, from the file's first bytes; refuses a name that disagrees.

    *data* is the file's content when already read; else the file is read.
    """
    head = (read_model_bytes(path) if data is None else data)[:8]
    if head.startswith(_ZIP_MAGIC):
        found = "skops"
    elif head.startswith(_PICKLE_MAGIC):
        found = "pickle"
    else:
        raise InputError(
            f"{path} is neither a skops file nor a pickle (its first bytes are {head[:4]!r}). "
            "Save the model with mlops_ci.models.save_model."
        )
    named = _SUFFIXES.get(path.suffix.lower())
    if named is not None and named != found:
        raise InputError(
            f"{path} is named as a {named} file but its bytes are a {found} file; refusing to "
            f"load it. Rename it to match what it is, or save the model again as {named}."
        )
    return found


def save_model(model: object, path: Path, *, format: Format = "skops") -> list[str]:
    """Write *model* to *path*; return the types the file needs, to record as trusted.

    skops (the default) returns every type the file names (see :func:`skops_types`);
    ``format="joblib"``/``"pickle"`` writes a pickle and returns ``[]`` (a pickle cannot be
    restricted to types; loading it needs ``allow_pickle=True``).
    """
    if format not in FORMATS:
        raise InputError(f"Unknown model format {format!r}; use one of: {', '.join(FORMATS)}.")
    path = Path(path)
    try:
        if format == "skops":
            _skops_io().dump(model, path)
            return skops_types(path)
        if format == "joblib":
            import joblib

            joblib.dump(model, path)
        else:
            import pickle

            with path.open("wb") as handle:
                pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError as exc:
        raise InputError(
            f"Cannot write the model file {path}: {exc.strerror or exc}; choose a writable path."
        ) from exc
    return []


def _refuse_untrusted(path: Path, missing: Iterable[str]) -> InputError:
    names = ", ".join(sorted(missing))
    return InputError(
        f"{path} needs types that were not recorded as trusted: {names}; it was not loaded. "
        "If you trust them, save the model again and record the types save_model returns."
    )


def load_model(
    path: Path,
    *,
    trusted_types: list[str],
    format: Literal["auto", "skops", "joblib", "pickle"] = "auto",
    allow_pickle: bool = False,
) -> Any:
    """Load the model at *path*.

    A skops file loads with exactly *trusted_types* (the list :func:`save_model` returned):
    a file that needs any other type is refused, and nothing in it is built.

    A pickle (``joblib``/``pickle``) RUNS CODE FROM THE FILE AS IT LOADS: it is refused unless
    *allow_pickle* is True, which is for files you made yourself or verified (a signed
    release). *trusted_types* does not restrict a pickle.
    """
    path = Path(path)
    if format not in ("auto", *FORMATS):
        raise InputError(
            f"Unknown model format {format!r}; use auto or one of: {', '.join(FORMATS)}."
        )
    if isinstance(trusted_types, (str, bytes)) or not all(
        isinstance(name, str) for name in trusted_types
    ):
        raise InputError(
            f"trusted_types for {path} must be a list of type names (as save_model returned), "
            f"not {type(trusted_types).__name__}."
        )
    data = read_model_bytes(path)
    found = detect_format(path, data)
    wanted = "pickle" if format in PICKLE_FORMATS else format
    if format != "auto" and wanted != found:
        raise InputError(
            f"{path} was to be loaded as {format} but its bytes are a {found} file; "
            "refusing to load it."
        )
    if found == "pickle":
        if not allow_pickle:
            raise InputError(
                f"{path} is a pickle, and loading a pickle runs code from the file; it was not "
                "loaded. Save the model with skops, or pass allow_pickle=True if you trust it."
            )
        return _load_pickle(data)
    return _load_skops(path, data, trusted_types)


def _load_skops(path: Path, data: bytes, trusted_types: list[str]) -> Any:
    sio = _skops_io()
    missing = set(skops_types(path, data)) - set(trusted_types)
    if missing:
        raise _refuse_untrusted(path, missing)
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        return sio.loads(data, trusted=list(trusted_types))
    except UntrustedTypesFoundException as exc:  # skops's own audit, the second line
        raise _refuse_untrusted(path, [str(exc)]) from exc
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise InputError(f"{path} is not a readable skops file ({exc}).") from exc


def _load_pickle(data: bytes) -> Any:
    """Unpickle *data* (with joblib when installed: it reads plain and compressed pickles)."""
    try:
        import joblib
    except ImportError:
        import pickle

        return pickle.loads(data)  # the caller passed allow_pickle=True
    return joblib.load(io.BytesIO(data))
