"""`mlops-ci predict` against hostile model directories: what is loaded is what was verified,
an unsigned release's trusted types are not taken at its word, malformed files are refused."""

from __future__ import annotations

import builtins
import functools
import pickle
from pathlib import Path
from typing import Any

import pytest
from release_bundles import WritesMarker, build_release, key_pair, table

import mlops_ci.release.fetch as fetch_module
from mlops_ci.__main__ import main


def predict(release: Path, tmp_path: Path, *extra: str) -> int:
    data = tmp_path / "data.csv"
    table(10).to_csv(data, index=False)
    return main(["predict", "--model", str(release), "--input", str(data),
                 "--output", str(tmp_path / "preds.csv"), *extra])


def test_the_bytes_loaded_are_the_bytes_verified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    """predict reads evidence.json and the model once and loads the bytes it hashed: a model
    file replaced right after verification (a co-tenant on a shared volume, a fetch swapping
    the directory under a running service) is refused, even for a signed release."""
    private, public = key_pair(tmp_path / "keys")
    release = build_release(tmp_path / "churn", fmt="pickle", key=private)  # signed, honest
    marker = tmp_path / "pwned"
    real_verify = fetch_module.verify_release_dir

    def verify_then_swap(directory: Path, **kwargs: Any) -> Any:
        result = real_verify(directory, **kwargs)
        (directory / "model.pkl").write_bytes(pickle.dumps(WritesMarker(marker)))
        return result

    monkeypatch.setattr(fetch_module, "verify_release_dir", verify_then_swap)
    code = predict(release, tmp_path, "--allow-pickle", "--public-key", str(public))
    _, err = capsys.readouterr()
    assert not marker.exists(), "a pickle that was never verified was unpickled"
    assert code == 2 and "changed after it was verified" in err


def _zip_with_schema(schema: str, *, encrypted: bool = False) -> bytes:
    import io
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("schema.json", schema)
    data = bytearray(buf.getvalue())
    if encrypted:  # the "encrypted" flag bit, in the local and the central header
        data[data.find(b"PK\x03\x04") + 6] |= 1
        data[data.find(b"PK\x01\x02") + 8] |= 1
    return bytes(data)


@pytest.mark.parametrize(
    "payload",
    [_zip_with_schema("{}", encrypted=True), _zip_with_schema("[" * 100_000)],
    ids=["encrypted zip member", "schema nested too deep"],
)
def test_a_malformed_skops_file_is_a_clear_refusal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], payload: bytes
):
    """zipfile's RuntimeError (an encrypted member) and json's RecursionError are a refusal
    of the file (exit 2, one message), not an internal error with a traceback."""
    release = build_release(tmp_path / "churn", payload=payload)  # listed in SHA256SUMS
    code = predict(release, tmp_path)
    _, err = capsys.readouterr()
    assert code == 2, err[-500:]
    assert "Traceback" not in err and "not a readable skops file" in err


def exec_pipeline(marker: Path) -> Any:
    """A pipeline whose first step calls builtins.exec(CODE): CODE writes *marker*."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    code = f"__import__('pathlib').Path({str(marker)!r}).write_text('x')"
    frame = table(40, seed=3)
    classifier = LogisticRegression().fit(frame, (frame["a"] > 0).astype(int))
    return make_pipeline(
        FunctionTransformer(func=functools.partial(builtins.exec, code, {}), validate=False),
        classifier,
    )


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
def test_a_skops_release_cannot_run_code_through_its_trusted_types(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], signed: bool
):
    """A skops file written with skops itself (not save_model, which refuses it), whose
    evidence records the types it needs, builtins.exec among them. Unsigned, the list is the
    uploader's word and skops' defaults apply; signed (a signer fooled or compromised),
    builtins.exec is never trusted whatever the list says. Either way CODE does not run."""
    import skops.io as sio

    marker = tmp_path / "pwned"
    payload = sio.dumps(exec_pipeline(marker))
    types = sorted({*sio.get_untrusted_types(data=payload), "builtins.dict", "builtins.list",
                    "builtins.str", "builtins.tuple", "numpy.ndarray", "sklearn.pipeline.Pipeline",
                    "sklearn.linear_model._logistic.LogisticRegression",
                    "sklearn.preprocessing._function_transformer.FunctionTransformer"})
    assert "builtins.exec" in types
    private, public = key_pair(tmp_path / "keys")
    release = build_release(tmp_path / "churn", payload=payload, trusted_types=types,
                            key=private if signed else None)
    code = predict(release, tmp_path, *(["--public-key", str(public)] if signed else []))
    _, err = capsys.readouterr()
    assert not marker.exists(), "a skops release ran its code in predict"
    assert code == 2, err[-400:]
    assert ("builtins.exec" in err) and "Traceback" not in err


def rounding_model() -> Any:
    """A model with a step skops does not trust by default (functools.partial, numpy.round)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    frame = table(40, seed=4)
    return make_pipeline(
        FunctionTransformer(functools.partial(np.round, decimals=2)), LogisticRegression()
    ).fit(frame, (frame["a"] > 0).astype(int))


def test_an_unsigned_releases_recorded_types_do_not_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """The same honest model, whose recorded list names two types skops does not trust by
    default: signed and verified, it loads with the list; unsigned, it is refused, naming
    them and saying to sign the release."""
    private, public = key_pair(tmp_path / "keys")
    model = rounding_model()
    signed = build_release(tmp_path / "signed", model=model, key=private)
    assert predict(signed, tmp_path, "--public-key", str(public)) == 0
    capsys.readouterr()
    unsigned = build_release(tmp_path / "unsigned", model=model)
    code = predict(unsigned, tmp_path)
    _, err = capsys.readouterr()
    assert code == 2 and "functools.partial" in err and "sign the release" in err
