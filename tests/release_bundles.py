"""Release bundles for the deploy-side tests, built as a release builds them.

A small scikit-learn model saved with skops (or pickle), its card, an ``evidence.json`` with
the ``models`` entry, ``SHA256SUMS`` (``bundle.collect_bundle``) and, with a key,
``model.sig`` (``sign.sign_bundle``). Keys are made with ``cryptography``.
"""

from __future__ import annotations

import builtins
import pickle
from pathlib import Path
from typing import Any

import numpy as np
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from factories import make_report
from mlops_ci.models import save_model
from mlops_ci.release.bundle import collect_bundle
from mlops_ci.release.sign import EVIDENCE_NAME, evidence_from_report, evidence_text, sign_bundle

COLUMNS = ["a", "b", "c"]


def key_pair(
    directory: Path, name: str = "release", curve: ec.EllipticCurve | None = None
) -> tuple[Path, Path]:
    """An EC key pair (P-256 unless *curve*) as PEM files: (private, public)."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(curve or ec.SECP256R1())
    private, public = directory / f"{name}.pem", directory / f"{name}.pub"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def table(rows: int = 57, seed: int = 0) -> Any:
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(rows, len(COLUMNS))), columns=COLUMNS)


def trained_model() -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = table(80, seed=1)
    y = (X["a"] + X["b"] > 0).astype(int)
    return make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)


class WritesMarker:
    """A pickle payload: unpickling it creates the marker file (as an attacker's would)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (builtins.open, (str(self.marker), "w"))


def build_release(
    directory: Path,
    *,
    model: Any = None,
    fmt: str = "skops",
    key: Path | None = None,
    version: str = "v1.0.0",
    artifact: str = "churn",
    payload: bytes | None = None,
    trusted_types: list[str] | None = None,
    commit: str | None = None,
) -> Path:
    """A release bundle in the new *directory*; signed when *key* (a private PEM) is given.

    *payload* replaces the model file's bytes (an attacker's file, listed and signed as such);
    *trusted_types* replaces the recorded list (an attacker's list). *commit* is the commit the
    evidence names (the one the release's tag points at; else the report's head).
    """
    build = directory.parent / f".{directory.name}-build"
    build.mkdir(parents=True)
    name = "model.skops" if fmt == "skops" else "model.pkl"
    if payload is not None:
        (build / name).write_bytes(payload)
        trusted: list[str] = []
    elif fmt == "skops":
        trusted = save_model(model if model is not None else trained_model(), build / name)
    else:
        (build / name).write_bytes(pickle.dumps(model if model is not None else trained_model()))
        trusted = []
    (build / "model-card.md").write_text(f"# {artifact} {version}\n", encoding="utf-8")
    if trusted_types is not None:
        trusted = trusted_types
    evidence = evidence_from_report(
        make_report(), artifact=artifact, version=version, tag=f"{artifact}@{version}"
    )
    if commit is not None:
        evidence["commit"] = commit
    evidence["models"] = [{"file": name, "format": fmt, "trusted_types": trusted}]
    collect_bundle(
        {name: build / name, "model-card.md": build / "model-card.md"},
        directory,
        texts={EVIDENCE_NAME: evidence_text(evidence)},
    )
    if key is not None:
        sign_bundle(directory, private_key=key)
    return directory


def files_of(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def tree(path: Path) -> dict[str, bytes] | str | None:
    """Everything at *path*, to check it is byte-for-byte untouched (None: nothing there)."""
    if path.is_symlink():
        return f"symlink -> {path.readlink()}"
    if path.is_file():
        return {"": path.read_bytes()}
    if not path.exists():
        return None
    return {
        str(p.relative_to(path)): (p.read_bytes() if p.is_file() else b"<dir>")
        for p in sorted(path.rglob("*"))
    }
