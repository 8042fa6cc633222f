"""`mlops-ci predict`: verified before loaded, scored in chunks, bad input refused with exit 2."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from release_bundles import COLUMNS, WritesMarker, build_release, key_pair, table, trained_model

from mlops_ci.__main__ import main
from mlops_ci.release.bundle import SUMS_NAME, format_sums, sha256_file


@pytest.fixture(scope="module")
def model():
    return trained_model()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return key_pair(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory, model) -> Path:
    return build_release(tmp_path_factory.mktemp("release") / "churn", model=model)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("data")
    frame = table(1234)
    frame.to_csv(directory / "data.csv", index=False)
    frame.to_parquet(directory / "data.parquet")
    return {"csv": directory / "data.csv", "parquet": directory / "data.parquet"}


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["predict", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_predictions_equal_the_model_on_the_whole_frame(
    capsys, tmp_path: Path, release: Path, data: dict[str, Path], model, kind: str
):
    output = tmp_path / "preds.csv"
    code, out, err = run(capsys, "--model", release, "--input", data[kind], "--output", output,
                         "--chunk-rows", "100")
    assert code == 0, err
    expected = model.predict(table(1234))
    assert pd.read_csv(output)["prediction"].tolist() == expected.tolist()
    assert "Scored 1,234 rows with model.skops (SHA256SUMS verified)" in out
    assert "Scoring data" in err and "rows" in err  # the progress bar, on stderr


def test_a_signed_release_is_scored_with_its_key_and_refused_without(
    capsys, tmp_path: Path, model, keys: tuple[Path, Path], data: dict[str, Path]
):
    release = build_release(tmp_path / "signed", model=model, key=keys[0])
    output = tmp_path / "preds.csv"
    code, _, err = run(capsys, "--model", release, "--input", data["csv"], "--output", output)
    assert code == 2 and "--public-key" in err and "Traceback" not in err
    assert not output.exists()
    code, out, err = run(capsys, "--model", release, "--input", data["csv"], "--output", output,
                         "--public-key", keys[1])
    assert code == 0, err
    assert "signature verified" in out


def relist(directory: Path) -> None:
    """Rewrite SHA256SUMS to match the files as they are now (an attacker without the key)."""
    names = [p.name for p in directory.iterdir() if p.name != SUMS_NAME]
    (directory / SUMS_NAME).write_text(
        format_sums({name: sha256_file(directory / name) for name in names})
    )


@pytest.mark.parametrize("fmt", ["skops", "pickle"])
def test_a_tampered_payload_is_never_loaded(
    capsys, tmp_path: Path, release: Path, keys: tuple[Path, Path], data: dict[str, Path],
    fmt: str,
):
    marker = tmp_path / "pwned"
    import pickle

    evil = pickle.dumps(WritesMarker(marker))
    # a signed release whose model file an attacker then replaces with a payload
    bundle = build_release(tmp_path / "bundle", fmt=fmt, key=keys[0])
    (bundle / ("model.skops" if fmt == "skops" else "model.pkl")).write_bytes(evil)
    args = ["--input", data["csv"], "--output", tmp_path / "out.csv", "--allow-pickle"]
    code, _, err = run(capsys, "--model", bundle, *args, "--public-key", keys[1])
    assert code == 2 and "does not verify" in err
    # ...and with SHA256SUMS rewritten to match, and the signature dropped
    (bundle / "model.sig").unlink()
    relist(bundle)
    code, _, err = run(capsys, "--model", bundle, *args, "--public-key", keys[1])
    assert code == 2 and "model.sig is missing" in err
    # ...and with no key at all: the listed bytes verify, but the payload is still not loaded
    # (a pickle without --allow-pickle; a pickle named .skops, refused by its bytes)
    code, _, err = run(capsys, "--model", bundle, *args[:-1])
    assert code == 2 and ("--allow-pickle" in err or "bytes are a pickle" in err), err
    assert not marker.exists()


def test_a_pickle_needs_allow_pickle(capsys, tmp_path: Path, model, data: dict[str, Path]):
    bundle = build_release(tmp_path / "pickled", model=model, fmt="pickle")
    output = tmp_path / "preds.csv"
    code, _, err = run(capsys, "--model", bundle, "--input", data["csv"], "--output", output)
    assert code == 2 and "--allow-pickle" in err
    code, _, err = run(capsys, "--model", bundle, "--input", data["csv"], "--output", output,
                       "--allow-pickle")
    assert code == 0, err
    assert pd.read_csv(output)["prediction"].tolist() == model.predict(table(1234)).tolist()


def test_an_unverifiable_directory_is_refused(capsys, tmp_path: Path, release: Path,
                                              data: dict[str, Path]):
    bundle = tmp_path / "copy"
    shutil.copytree(release, bundle)
    (bundle / "notes.txt").write_text("extra")
    code, _, err = run(capsys, "--model", bundle, "--input", data["csv"], "--output",
                       tmp_path / "o.csv")
    assert code == 2 and "'notes.txt' is in" in err and "not listed in SHA256SUMS" in err


def test_wrong_columns_are_a_clear_input_error(capsys, tmp_path: Path, release: Path):
    wrong = tmp_path / "wrong.csv"
    table(10).rename(columns={"a": "x"}).to_csv(wrong, index=False)
    code, _, err = run(capsys, "--model", release, "--input", wrong, "--output",
                       tmp_path / "o.csv")
    assert code == 2, err
    assert "cannot score" in err and f"expects the columns: {', '.join(COLUMNS)}" in err
    assert "Traceback" not in err and not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("case", ["missing input", "model not a dir", "no evidence models"])
def test_bad_inputs_exit_2_with_a_message(capsys, tmp_path: Path, release: Path, case: str,
                                         data: dict[str, Path]):
    model_dir, input_path = release, data["csv"]
    if case == "missing input":
        input_path = tmp_path / "nope.csv"
        expected = "is not a file"
    elif case == "model not a dir":
        model_dir = tmp_path / "nothing"
        expected = "is not a directory"
    else:
        model_dir = tmp_path / "old"
        shutil.copytree(release, model_dir)
        evidence = (model_dir / "evidence.json").read_text()
        (model_dir / "evidence.json").write_text(evidence.replace('"models"', '"old_models"'))
        relist(model_dir)
        expected = "lists no models"
    code, _, err = run(capsys, "--model", model_dir, "--input", input_path, "--output",
                       tmp_path / "o.csv")
    assert code == 2 and expected in err, err
    assert "Traceback" not in err
