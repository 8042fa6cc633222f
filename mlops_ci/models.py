"""Saving and loading a model, safely: the only place in mlops-ci that unpickles.

A model file is either a skops file (``skops.io``: a zip archive of a JSON schema and numpy
arrays, which loads without running code from the file) or a pickle (``pickle``/``joblib``,
which runs whatever code the file names when it loads). skops is the default and the only
format :func:`load_model` reads unless the caller passes ``allow_pickle=True``.

A skops file is loaded only with the types recorded as trusted when it was saved
(:func:`save_model` returns them; a release records and signs them): a file that needs any
other type is refused before anything in it is built, even a type skops trusts by default.
Without a recorded list (``trusted_types=None``: an unsigned release, whose list is whatever
its uploader wrote) only the types skops trusts by default load. Whatever a list says, the
types in :data:`NEVER_TRUSTED` (callables that run code or reach the system) are refused, on
saving and on loading alike.

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

# Types a model never needs and an attacker's file does: callables that run code, import,
# unpickle, or reach files, processes and the network. A skops schema names plain classes
# such as builtins.dict or builtins.list, which stay allowed. A guard rail under the
# recorded list, not a replacement for it: a name here is refused whatever a list says.
NEVER_TRUSTED: frozenset[str] = frozenset(
    f"builtins.{name}"
    for name in (
        "exec", "eval", "compile", "__import__", "__build_class__", "open", "getattr",
        "setattr", "delattr", "globals", "locals", "vars", "input", "breakpoint", "help",
        "exit", "quit", "type",
    )
) | frozenset(
    (
        "functools.reduce", "operator.attrgetter", "operator.methodcaller", "io.open",
        "io.open_code", "io.FileIO", "_io.open", "_io.open_code", "_io.FileIO",
        "numpy.load", "numpy.fromfile", "pandas.eval", "pandas.read_pickle",
    )
)
NEVER_TRUSTED_MODULES: tuple[str, ...] = (
    "os", "posix", "nt", "subprocess", "_posixsubprocess", "sys", "importlib", "shutil",
    "socket", "_socket", "pickle", "_pickle", "marshal", "ctypes", "_ctypes", "runpy", "code",
    "codeop", "pty", "multiprocessing", "asyncio", "pathlib", "tempfile", "urllib", "http",
    "webbrowser", "pdb", "bdb", "timeit", "cProfile", "profile", "trace", "doctest", "pydoc",
    "platform", "signal", "threading", "_thread", "gc", "inspect", "zipimport", "pkgutil",
    "joblib", "dill", "cloudpickle", "numpy.f2py", "pandas.core.computation",
)


def never_trusted(names: Iterable[str]) -> list[str]:
    """The names among *names* that are never trusted (see :data:`NEVER_TRUSTED`), sorted."""
    return sorted(
        {
            name
            for name in names
            if name in NEVER_TRUSTED
            or any(name.startswith(f"{module}.") for module in NEVER_TRUSTED_MODULES)
        }
    )


def _refuse_never_trusted(path: Path, denied: list[str], *, saving: bool = False) -> InputError:
    names = ", ".join(denied)
    verb = "saved" if saving else "loaded"
    return InputError(
        f"{path} names {names}, which mlops-ci never trusts in a model (it can run code or "
        f"reach the system); it was not {verb}. Replace that step of the model with one that "
        "does not call it."
    )


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
    found: set[str] = set()
    for names in _scan_skops(path, data):
        found.update(names)
    return sorted(found)


def default_untrusted_types(path: Path, data: bytes | None = None) -> list[str]:
    """The types a skops file needs that skops does not trust by default (nothing is built)."""
    return _scan_skops(path, data)[1]


def _scan_skops(path: Path, data: bytes | None) -> tuple[list[str], list[str]]:
    """(the types the schema names, the types skops does not trust by default)."""
    sio = _skops_io()
    if data is None:
        data = read_model_bytes(path)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            schema = json.loads(archive.read("schema.json"))
        untrusted = sio.get_untrusted_types(data=data)
        named: set[str] = set()
        _schema_types(schema, named)
    # RuntimeError: zipfile on an encrypted member; RecursionError: JSON nested too deep.
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, RuntimeError) as exc:
        raise InputError(f"{path} is not a readable skops file ({exc}).") from None
    except RecursionError:
        raise InputError(
            f"{path} is not a readable skops file (its schema is nested too deeply)."
        ) from None
    return sorted(named), sorted(set(untrusted))


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

    skops (the default) returns every type the file names (see :func:`skops_types`); a model
    that needs a type in :data:`NEVER_TRUSTED` is refused and nothing is written.
    ``format="joblib"``/``"pickle"`` writes a pickle and returns ``[]`` (a pickle cannot be
    restricted to types; loading it needs ``allow_pickle=True``).
    """
    if format not in FORMATS:
        raise InputError(f"Unknown model format {format!r}; use one of: {', '.join(FORMATS)}.")
    path = Path(path)
    try:
        if format == "skops":
            data = _skops_io().dumps(model)
            types = skops_types(path, data)
            denied = never_trusted(types)
            if denied:
                raise _refuse_never_trusted(path, denied, saving=True)
            path.write_bytes(data)
            return types
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
    trusted_types: list[str] | None,
    format: Literal["auto", "skops", "joblib", "pickle"] = "auto",
    allow_pickle: bool = False,
    data: bytes | None = None,
) -> Any:
    """Load the model at *path* (or *data*, its bytes already read and checked by the caller).

    A skops file loads with exactly *trusted_types* (the list :func:`save_model` returned):
    a file that needs any other type is refused, and nothing in it is built. With
    ``trusted_types=None`` (no list anyone vouches for) only the types skops trusts by default
    load. A type in :data:`NEVER_TRUSTED` is refused whatever the list says.

    A pickle (``joblib``/``pickle``) RUNS CODE FROM THE FILE AS IT LOADS: it is refused unless
    *allow_pickle* is True, which is for files you made yourself or verified (a signed
    release). *trusted_types* does not restrict a pickle.
    """
    path = Path(path)
    if format not in ("auto", *FORMATS):
        raise InputError(
            f"Unknown model format {format!r}; use auto or one of: {', '.join(FORMATS)}."
        )
    if trusted_types is not None and (
        isinstance(trusted_types, (str, bytes))
        or not all(isinstance(name, str) for name in trusted_types)
    ):
        raise InputError(
            f"trusted_types for {path} must be a list of type names (as save_model returned), "
            f"not {type(trusted_types).__name__}."
        )
    if data is None:
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


def _load_skops(path: Path, data: bytes, trusted_types: list[str] | None) -> Any:
    sio = _skops_io()
    named, untrusted = _scan_skops(path, data)
    denied = never_trusted([*named, *untrusted])
    if denied:
        raise _refuse_never_trusted(path, denied)
    listed = never_trusted(trusted_types or [])
    if listed:
        raise InputError(
            f"The trusted types recorded for {path} name {', '.join(listed)}, which mlops-ci "
            "never trusts in a model; it was not loaded. The list was not written by "
            "save_model: record the list save_model returns."
        )
    if trusted_types is None:
        if untrusted:
            names = ", ".join(untrusted)
            raise InputError(
                f"{path} needs types that skops does not trust by default: {names}; it was "
                "not loaded. With no verified list of trusted types (an unsigned release) "
                "only skops' default types load: sign the release and verify it with the "
                "public key, so that the types it records count."
            )
    else:
        missing = (set(named) | set(untrusted)) - set(trusted_types)
        if missing:
            raise _refuse_untrusted(path, missing)
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        return sio.loads(data, trusted=None if trusted_types is None else list(trusted_types))
    except UntrustedTypesFoundException as exc:  # skops's own audit, the second line
        raise _refuse_untrusted(path, [str(exc)]) from exc
    except (zipfile.BadZipFile, KeyError, ValueError, RuntimeError) as exc:
        raise InputError(f"{path} is not a readable skops file ({exc}).") from exc
    except RecursionError:
        raise InputError(f"{path} is not a readable skops file (nested too deeply).") from None


def _load_pickle(data: bytes) -> Any:
    """Unpickle *data* (with joblib when installed: it reads plain and compressed pickles)."""
    try:
        import joblib
    except ImportError:
        import pickle

        return pickle.loads(data)  # the caller passed allow_pickle=True
    return joblib.load(io.BytesIO(data))
