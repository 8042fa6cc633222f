"""`mlops-ci predict`: score a table with a fetched release, verified before it is loaded.

The model directory is verified first, as `fetch` verifies a download (every file against
``SHA256SUMS``, nothing missing or extra; the signature when a key is given, and a directory
that carries ``model.sig`` is refused without one). Only then are ``evidence.json`` and the
model file read, each once, into memory; those bytes must have the sha256 the verification
accepted (a file swapped after it is refused), and they are what is parsed and loaded.

The evidence names the model's file, format and trusted types. Its trusted types count only
when the signature verified: an unsigned directory's evidence is whatever its uploader wrote,
so its skops model loads with skops' default trusted types alone (``trusted_types=None``).
A pickle loads only with ``--allow-pickle``. Scoring goes chunk by chunk with a progress bar
in rows (``predict_chunks.predict_in_chunks``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

from mlops_ci.errors import EXIT_OK, InputError
from mlops_ci.security import read_regular_file

FORMATS = ("skops", "pickle")
PICKLE_HINT = (
    "loading a pickle runs code from the file; pass --allow-pickle only for a release you "
    "trust (its signature verified with --public-key), or release the model as skops"
)


def predict(
    *,
    model_dir: Path,
    input_path: Path,
    output_path: Path,
    allow_pickle: bool,
    public_key: Path | None,
    chunk_rows: int,
    model_file: str | None,
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    from mlops_ci.release.fetch import verify_release_dir
    from mlops_ci.release.sign import EVIDENCE_NAME, MAX_EVIDENCE_BYTES, parse_evidence

    if chunk_rows < 1:
        raise InputError(f"--chunk-rows must be at least 1, not {chunk_rows}.")
    if not model_dir.is_dir():
        raise InputError(
            f"--model {model_dir} is not a directory; give the directory `mlops-ci fetch` wrote."
        )
    if not input_path.is_file():
        raise InputError(f"--input {input_path} is not a file; give a .csv or .parquet table.")
    digests, signed = verify_release_dir(model_dir, public_key=public_key)
    evidence_path = model_dir / EVIDENCE_NAME
    if EVIDENCE_NAME not in digests:
        raise InputError(
            f"{model_dir} holds no {EVIDENCE_NAME} (SHA256SUMS does not list one), so it does "
            "not say which file is the model; give a directory `mlops-ci fetch` wrote."
        )
    evidence_bytes = verified_bytes(evidence_path, digests[EVIDENCE_NAME], MAX_EVIDENCE_BYTES)
    evidence = parse_evidence(evidence_bytes, evidence_path)
    entry = choose_model(evidence, set(digests), model_dir, model_file)
    name, fmt, recorded = entry
    trusted = recorded if signed else None  # an unsigned list is the uploader's word
    if fmt == "pickle" and not allow_pickle:
        raise InputError(f"The model {model_dir / name} is a pickle, and {PICKLE_HINT}.")
    if fmt == "pickle" and not signed:
        print(
            f"mlops-ci: warning: loading the pickle {name} of an unsigned release: its bytes "
            "match SHA256SUMS, but nothing says who wrote them.",
            file=stderr,
        )
    model_bytes = verified_bytes(model_dir / name, digests[name], None)
    model = _load(model_dir / name, fmt, trusted, allow_pickle, model_bytes)
    rows = _score(model, input_path, output_path, chunk_rows, stderr)
    check = "SHA256SUMS and signature verified" if signed else "SHA256SUMS verified"
    print(f"Scored {rows:,} rows with {name} ({check}); predictions in {output_path}", file=stdout)
    return EXIT_OK


def choose_model(
    evidence: dict[str, Any], verified: set[str], model_dir: Path, wanted: str | None
) -> tuple[str, str, list[str]]:
    """(file, format, trusted types) of the release's model, from its verified evidence."""
    models = evidence.get("models")
    where = f"{model_dir / 'evidence.json'}"
    if not isinstance(models, list) or not models:
        raise InputError(
            f"{where} lists no models (its 'models' entry); this release was made before "
            "mlops-ci recorded them, or by another tool: release it again."
        )
    entries = []
    for index, item in enumerate(models):
        if not isinstance(item, dict):
            raise InputError(f"{where}: models[{index}] is not an object.")
        name, fmt, trusted = item.get("file"), item.get("format"), item.get("trusted_types", [])
        if not isinstance(name, str) or name not in verified or name == "SHA256SUMS":
            raise InputError(
                f"{where}: models[{index}].file {name!r} is not a verified file of the release."
            )
        if fmt not in FORMATS:
            raise InputError(
                f"{where}: models[{index}].format {fmt!r} is not one of {', '.join(FORMATS)}."
            )
        if not isinstance(trusted, list) or not all(isinstance(t, str) for t in trusted):
            raise InputError(f"{where}: models[{index}].trusted_types is not a list of names.")
        entries.append((name, str(fmt), list(trusted)))
    if wanted is not None:
        found = [e for e in entries if e[0] == wanted]
        if not found:
            names = ", ".join(e[0] for e in entries)
            raise InputError(f"--model-file {wanted!r} is not a model of the release: {names}.")
        return found[0]
    if len(entries) > 1:
        names = ", ".join(e[0] for e in entries)
        raise InputError(f"The release holds several models ({names}); choose with --model-file.")
    return entries[0]


def verified_bytes(path: Path, digest: str, limit: int | None) -> bytes:
    """The bytes of *path*, read once, refused unless their sha256 is *digest* (verified)."""
    import hashlib

    try:
        data = read_regular_file(path, what="The release file", limit=limit)
    except OSError as exc:
        raise InputError(f"Cannot read {path}: {exc.strerror or exc}.") from None
    actual = hashlib.sha256(data).hexdigest()
    if actual != digest:
        raise InputError(
            f"{path} changed after it was verified (its sha256 is now {actual}, not {digest}); "
            "it was not loaded. Something else writes that directory: fetch into a new one."
        )
    return data


def _load(
    path: Path, fmt: str, trusted: list[str] | None, allow_pickle: bool, data: bytes
) -> Any:
    from mlops_ci.models import load_model

    return load_model(
        path, trusted_types=trusted, format=fmt, allow_pickle=allow_pickle, data=data  # type: ignore[arg-type]
    )


def parquet_rows(path: Path) -> int | None:
    """The row count in a parquet file's footer (for a progress bar's total); None for a CSV."""
    if path.suffix.lower() not in (".parquet", ".pq"):
        return None
    try:
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:  # the scoring run reports an unreadable file in its own words
        return None


def _score(model: Any, input_path: Path, output_path: Path, chunk_rows: int, stderr: TextIO) -> int:
    from mlops_ci.predict_chunks import predict_in_chunks
    from mlops_ci.progress import Progress

    with Progress(
        f"Scoring {input_path.name}", total=parquet_rows(input_path), unit="rows", stream=stderr
    ) as bar:
        try:
            return predict_in_chunks(
                model, input_path, output_path, chunk_rows=chunk_rows, on_chunk=bar.advance
            )
        except InputError:
            raise
        # the model's own refusal of the table (wrong or missing columns, wrong types)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InputError(
                f"The model cannot score {input_path}: {type(exc).__name__}: {exc}"[:800]
                + columns_hint(model)
            ) from exc


def columns_hint(model: Any) -> str:
    """The end of a message about a table the model refused: the columns it expects."""
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        return ". Check that the table has the columns the model was trained on."
    shown = ", ".join(str(n) for n in list(names)[:20])
    return f". The model expects the columns: {shown}."
