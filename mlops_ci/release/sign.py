"""Sign a release bundle with OpenSSF Model Signing, and verify it, offline, with an EC key.

The signature (``model.sig``, a Sigstore bundle holding a DSSE-signed in-toto statement) lists
the sha256 of every file of the bundle directory — the model, the card, the report,
``SHA256SUMS`` and ``evidence.json`` — so verifying it answers "are these exactly the files
that were signed": a changed byte, a missing file and an extra file are all refused.

The gate evidence (the commit, the metrics, the gate verdicts, the data hashes) is a file of
the bundle, ``evidence.json``, not a field of the statement: model-signing 1.1's predicate
(``https://model_signing/signature/v1.0``) carries only ``serialization`` and ``resources``,
its public API has no way to add a field, and its verifier rebuilds the manifest from those
two alone — a field added through private API would be signed but never checked or shown by
``model_signing verify``. As a file it is covered by the statement's digests and by
``SHA256SUMS`` alike, and a deployer reads it with any JSON tool.

Key mode only: an EC private key (P-256, P-384 or P-521) in PEM, from a file or from a
secret's value; verification with the public key. No network is used. Sigstore's keyless
mode is for a later change. ``model_signing`` is imported inside the functions: it is the
``release`` extra, and ``mlops-ci --help`` must not load it.

A release builds its bundle in this order::

    evidence = evidence_from_report(report, artifact=NAME, version=VERSION, tag=TAG)
    evidence["models"] = [...]  # each model's file, format and trusted types
    collect_bundle(files, directory, texts={EVIDENCE_NAME: evidence_text(evidence)})
    sign_bundle(directory, private_key_pem=secret)                     # + model.sig

and a deployer's side calls ``verify_bundle(directory, public_key=...)`` before it loads any
file, then ``read_evidence(directory)`` (or ``parse_evidence`` on bytes it read and hashed).
``commit`` is the report's head: the commit the release's tag points at, which a fetch
requires.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlops_ci.errors import InputError
from mlops_ci.release.bundle import SUMS_NAME, verify_directory
from mlops_ci.report import Report
from mlops_ci.security import log_safe, read_regular_file

SIGNATURE_NAME = "model.sig"  # the model_signing CLI's default name
EVIDENCE_NAME = "evidence.json"
EVIDENCE_SCHEMA = "mlops-ci/release-evidence/v1"
MAX_EVIDENCE_BYTES = 4 << 20  # evidence is a few kilobytes; more is not ours
_CURVES = ("secp256r1", "secp384r1", "secp521r1")  # the curves model-signing accepts
MAX_MESSAGE = 600  # characters of the library's own words kept in a refusal

_INSTALL_HINT = "install mlops-ci with the release extra: pip install 'mlops-ci[release]'"


def _model_signing() -> Any:
    """The model_signing package, or an InputError that says how to install it."""
    try:
        import model_signing.hashing
        import model_signing.signing
        import model_signing.verifying
    except ImportError as exc:
        raise InputError(
            f"Signing needs the model-signing package ({exc.name} is missing); {_INSTALL_HINT}."
        ) from None
    return model_signing


def _hashing_config() -> Any:
    """Hash every file of the directory (git names too: a bundle has none) but the signature."""
    ms = _model_signing()
    return ms.hashing.Config().set_ignored_paths(paths=[SIGNATURE_NAME], ignore_git_paths=False)


# --- evidence ----------------------------------------------------------------------------------


def evidence_from_report(
    report: Report,
    *,
    artifact: str | None = None,
    version: str | None = None,
    tag: str | None = None,
) -> dict[str, Any]:
    """What the release passed, from its Report: the commit, metrics, gates and data hashes.

    *artifact*, *version* and *tag* name the release (``churn``, ``v1.3.0``,
    ``churn@v1.3.0``); each is written when given. A fetch requires ``version`` (and
    ``artifact`` when it asked for a model by name) and ``commit`` to be the ones its tag
    names, so that a signed bundle replayed under another tag is refused.
    """
    lineage = report.lineage
    model = lineage.model
    named = {"artifact": artifact, "version": version, "tag": tag}
    return {
        "schema": EVIDENCE_SCHEMA,
        **{key: value for key, value in named.items() if value is not None},
        "commit": report.head.rev,
        "base": {"rev": report.base.rev, "ref": report.base.ref},
        "model": {
            "name": report.model.name,
            "path": report.model.path,
            "md5": model.md5 if model else None,
        },
        "verdict": {
            "status": report.verdict.status,
            "failed": report.verdict.failed,
            "warnings": report.verdict.warnings,
            "summary": report.verdict.summary,
        },
        "metrics": [{"name": m.name, "file": m.file, "value": m.head} for m in report.metrics],
        "gates": [
            {
                "metric": g.metric,
                "rule": g.rule,
                "threshold": g.threshold_text,
                "severity": g.severity,
                "verdict": g.verdict,
                "base": g.base,
                "head": g.head,
            }
            for g in report.gates
        ],
        "data": [
            {"path": d.path, "md5": d.md5, "stage": d.stage}
            for d in [*lineage.data, *lineage.evaluation_data]
        ],
        "tool_version": report.tool_version,
    }


def evidence_text(evidence: Mapping[str, Any]) -> str:
    """``evidence.json``'s text: sorted keys, so the same evidence always hashes the same."""
    return json.dumps(evidence, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_evidence(directory: Path, evidence: Mapping[str, Any]) -> Path:
    """Write *evidence* as ``directory/evidence.json``."""
    path = directory / EVIDENCE_NAME
    path.write_text(evidence_text(evidence), encoding="utf-8")
    return path


def read_evidence(directory: Path) -> dict[str, Any]:
    """The evidence of a bundle; call it after :func:`verify_bundle` accepted the directory."""
    path = directory / EVIDENCE_NAME
    try:
        raw = read_regular_file(path, what="The evidence file", limit=MAX_EVIDENCE_BYTES)
    except FileNotFoundError:
        raise InputError(f"{path} is missing; this bundle carries no gate evidence.") from None
    except OSError as exc:
        raise InputError(f"Cannot read {path} ({exc.strerror or exc}).") from None
    return parse_evidence(raw, path)


def parse_evidence(raw: bytes, path: Path) -> dict[str, Any]:
    """The evidence in *raw*, the bytes of *path* (an InputError naming it when malformed)."""
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path} is not valid JSON ({exc}).") from None
    except RecursionError:
        raise InputError(f"{path} is not mlops-ci evidence: it is nested too deeply.") from None
    if not isinstance(data, dict) or data.get("schema") != EVIDENCE_SCHEMA:
        raise InputError(f"{path} is not mlops-ci evidence (schema {EVIDENCE_SCHEMA!r}).")
    return data


# --- keys --------------------------------------------------------------------------------------


def _check_private_key(pem: bytes, *, what: str, password: str | None) -> None:
    """Refuse *pem* unless it is an EC private key on a curve model-signing signs with."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    secret = password.encode() if password is not None else None
    try:
        key = serialization.load_pem_private_key(pem, password=secret)
    except TypeError:
        raise InputError(
            f"{what} is encrypted; give its password, or export it without one."
        ) from None
    except ValueError:
        raise InputError(
            f"{what} is not a readable PEM private key (or its password is wrong); "
            "create one with: openssl ecparam -name prime256v1 -genkey -noout -out key.pem"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise InputError(f"{what} is not an elliptic-curve (EC) key; sign with a P-256 EC key.")
    if key.curve.name not in _CURVES:
        raise InputError(
            f"{what} is on the curve {key.curve.name}; model-signing signs with P-256, "
            "P-384 or P-521."
        )


def _check_public_key(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    what = f"The public key {path}"
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise InputError(f"{what} cannot be read ({exc.strerror}).") from None
    except ValueError:
        raise InputError(
            f"{what} is not a PEM public key; export it with: "
            "openssl ec -in key.pem -pubout -out key.pub"
        ) from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name not in _CURVES:
        raise InputError(f"{what} is not a P-256, P-384 or P-521 EC public key.")


@contextmanager
def _key_file(private_key: Path | None, private_key_pem: str | None) -> Iterator[Path]:
    """A path to the private key: *private_key*, or the secret's value in a private temp file.

    The library reads keys from paths only; the secret is written to a file that only this
    user can read, in a directory that only this user can list, and removed afterwards.
    """
    if (private_key is None) == (private_key_pem is None):
        raise InputError("Give the signing key either as a file or as a secret's value.")
    if private_key is not None:
        yield private_key
        return
    assert private_key_pem is not None
    with tempfile.TemporaryDirectory(prefix="mlops-ci-key-") as directory:
        path = Path(directory) / "key.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(private_key_pem)
        yield path


# --- sign and verify ---------------------------------------------------------------------------


def sign_bundle(
    directory: Path,
    *,
    private_key: Path | None = None,
    private_key_pem: str | None = None,
    password: str | None = None,
) -> Path:
    """Sign every file of *directory* into ``directory/model.sig``; its path.

    The directory must already verify against its ``SHA256SUMS`` (so that what is signed is
    what the checksums list); the key is a file or a secret's value (PEM), never both.
    """
    if SIGNATURE_NAME in verify_directory(directory, ignore=[SIGNATURE_NAME]):
        raise InputError(
            f"{SUMS_NAME} in {directory} lists {SIGNATURE_NAME!r}, the signature's own name; "
            "rename that file."
        )
    ms = _model_signing()
    with _key_file(private_key, private_key_pem) as key_path:
        what = f"The signing key {private_key}" if private_key else "The signing key secret"
        try:
            pem = key_path.read_bytes()
        except OSError as exc:
            raise InputError(f"{what} cannot be read ({exc.strerror}).") from None
        _check_private_key(pem, what=what, password=password)
        signature = directory / SIGNATURE_NAME
        config = ms.signing.Config().set_hashing_config(_hashing_config())
        # model-signing 1.1 annotates the password as str but hands it to cryptography,
        # which takes bytes only.
        secret = password.encode() if password is not None else None
        config.use_elliptic_key_signer(private_key=key_path, password=secret)
        config.sign(directory, signature)
    return signature


def verify_bundle(directory: Path, *, public_key: Path) -> dict[str, str]:
    """Check *directory* against ``SHA256SUMS`` and its signature; the verified digests.

    Refuses (InputError) a missing signature, a signature by another key, and any file that
    differs from, is missing from or is added to the signed set.
    """
    digests = verify_directory(directory, ignore=[SIGNATURE_NAME])
    signature = directory / SIGNATURE_NAME
    if signature.is_symlink() or not signature.is_file():
        raise InputError(
            f"{signature} is missing or not a regular file; a signed bundle carries "
            f"{SIGNATURE_NAME} beside {SUMS_NAME}."
        )
    _check_public_key(public_key)
    ms = _model_signing()
    config = ms.verifying.Config().set_hashing_config(_hashing_config())
    config.use_elliptic_key_verifier(public_key=public_key)
    try:
        config.verify(directory, signature)
    # The signature is untrusted input: whatever the library raises on it is a refusal.
    except Exception as exc:
        words = log_safe(str(exc))[:MAX_MESSAGE] or type(exc).__name__
        raise InputError(
            f"The signature {signature} does not verify with {public_key}: {words}"
        ) from None
    return digests
