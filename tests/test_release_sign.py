"""Signing a bundle with OpenSSF Model Signing in key mode, and refusing every altered bundle.

Keys are made in the test with `cryptography`; real files in tmp_path. The autouse network
guard of tests/github_fake/plugin.py refuses and records every socket connection and name
lookup outside loopback, and fails the test that tried: these tests prove signing and
verifying are offline.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import model_signing.signing as ms_signing
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from release_bundles import key_pair

from factories import make_report
from mlops_ci.errors import InputError
from mlops_ci.release.bundle import SUMS_NAME, collect_bundle, write_sums
from mlops_ci.release.sign import (
    EVIDENCE_NAME,
    EVIDENCE_SCHEMA,
    SIGNATURE_NAME,
    evidence_from_report,
    evidence_text,
    read_evidence,
    sign_bundle,
    verify_bundle,
    write_evidence,
)

FILES = {
    "model.pkl": b"\x80\x04model" * 4096,
    "model-card.md": b"# Model card\n",
    "report.json": b'{"verdict": "pass"}\n',
    "dvc.lock": b"schema: '2.0'\n",
}


@pytest.fixture()
def keys(tmp_path: Path) -> tuple[Path, Path]:
    keys = tmp_path / "keys"
    keys.mkdir()
    return key_pair(keys, "release")


def make_bundle(directory: Path) -> Path:
    """A bundle built as a release builds it: files collected, evidence written, listed."""
    build = directory.parent / f"{directory.name}-build"
    build.mkdir(parents=True)
    for name, data in FILES.items():
        (build / name).write_bytes(data)
    evidence = evidence_text(evidence_from_report(make_report()))
    files = {name: build / name for name in FILES}
    collect_bundle(files, directory, texts={EVIDENCE_NAME: evidence})
    return directory


@pytest.fixture()
def signed(tmp_path: Path, keys: tuple[Path, Path]) -> Path:
    bundle = make_bundle(tmp_path / "bundle")
    sign_bundle(bundle, private_key=keys[0])
    return bundle


def refusal(bundle: Path, public: Path) -> str:
    with pytest.raises(InputError) as caught:
        verify_bundle(bundle, public_key=public)
    return str(caught.value)


def test_a_signed_bundle_verifies(signed: Path, keys: tuple[Path, Path]) -> None:
    digests = verify_bundle(signed, public_key=keys[1])
    assert set(digests) == {*FILES, EVIDENCE_NAME}
    assert (signed / SIGNATURE_NAME).is_file()


def test_the_statement_covers_every_file_and_the_evidence(signed: Path) -> None:
    import base64

    bundle = json.loads((signed / SIGNATURE_NAME).read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    names = {r["name"] for r in statement["predicate"]["resources"]}
    assert names == {*FILES, EVIDENCE_NAME, SUMS_NAME}
    assert bundle["verificationMaterial"]["tlogEntries"] == []  # key mode: no transparency log


def test_a_signature_from_a_secret_value_verifies_and_leaves_no_key_behind(
    tmp_path: Path, keys: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temporary))
    seen: list[tuple[str, int]] = []
    real_sign = ms_signing.Config.sign

    def sign(self: object, model_path: Path, signature_path: Path) -> None:
        # while the library signs, the secret is a file only this user can read
        seen.extend((p.name, p.stat().st_mode & 0o777) for p in temporary.rglob("*"))
        real_sign(self, model_path, signature_path)

    monkeypatch.setattr(ms_signing.Config, "sign", sign)
    bundle = make_bundle(tmp_path / "bundle")
    sign_bundle(bundle, private_key_pem=keys[0].read_text())
    verify_bundle(bundle, public_key=keys[1])
    assert ("key.pem", 0o600) in seen
    assert list(temporary.iterdir()) == []


def test_one_changed_byte_is_refused(signed: Path, keys: tuple[Path, Path]) -> None:
    model = signed / "model.pkl"
    data = bytearray(model.read_bytes())
    data[100] ^= 0x01
    model.write_bytes(bytes(data))
    assert "'model.pkl' does not match SHA256SUMS" in refusal(signed, keys[1])


def test_a_changed_file_with_matching_sums_is_refused_by_the_signature(
    signed: Path, keys: tuple[Path, Path]
) -> None:
    # An attacker who can replace a file can rewrite SHA256SUMS too; the signature still holds.
    (signed / "model.pkl").write_bytes(b"evil")
    names = [*FILES, EVIDENCE_NAME]
    write_sums({name: signed / name for name in names}, signed)
    message = refusal(signed, keys[1])
    assert "does not verify" in message
    assert "model.pkl" in message


def test_changed_evidence_is_refused(signed: Path, keys: tuple[Path, Path]) -> None:
    evidence = read_evidence(signed)
    evidence["verdict"]["status"] = "pass" if evidence["verdict"]["status"] != "pass" else "fail"
    write_evidence(signed, evidence)
    names = [*FILES, EVIDENCE_NAME]
    write_sums({name: signed / name for name in names}, signed)
    assert "evidence.json" in refusal(signed, keys[1])


def test_an_extra_file_is_refused(signed: Path, keys: tuple[Path, Path]) -> None:
    (signed / "extra.py").write_text("import os\n")
    assert "'extra.py' is in" in refusal(signed, keys[1])


def test_an_extra_git_file_is_refused_too(signed: Path, keys: tuple[Path, Path]) -> None:
    # model-signing skips .gitignore and friends by default; a bundle has no such file.
    (signed / ".gitattributes").write_text("* binary\n")
    names = [*FILES, EVIDENCE_NAME, ".gitattributes"]
    write_sums({name: signed / name for name in names}, signed)
    assert ".gitattributes" in refusal(signed, keys[1])


def test_a_missing_file_is_refused(signed: Path, keys: tuple[Path, Path]) -> None:
    (signed / "dvc.lock").unlink()
    assert "'dvc.lock' is listed in SHA256SUMS but missing" in refusal(signed, keys[1])


def test_a_missing_signature_is_refused(signed: Path, keys: tuple[Path, Path]) -> None:
    (signed / SIGNATURE_NAME).unlink()
    assert "model.sig is missing" in refusal(signed, keys[1])


def test_a_garbled_signature_is_refused(signed: Path, keys: tuple[Path, Path]) -> None:
    (signed / SIGNATURE_NAME).write_text("{not json")
    assert "does not verify" in refusal(signed, keys[1])


def test_the_wrong_public_key_is_refused(tmp_path: Path, signed: Path) -> None:
    _, other = key_pair(tmp_path, "other")
    assert "does not verify with" in refusal(signed, other)


def test_a_signature_moved_to_another_directory_name_verifies(
    tmp_path: Path, signed: Path, keys: tuple[Path, Path]
) -> None:
    # A deployer downloads into a temporary directory of any name.
    moved = tmp_path / "tmp-download-1234"
    shutil.copytree(signed, moved)
    verify_bundle(moved, public_key=keys[1])


def test_a_bundle_that_does_not_match_its_sums_is_not_signed(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    bundle = make_bundle(tmp_path / "bundle")
    (bundle / "stray.txt").write_text("x")
    with pytest.raises(InputError, match="'stray.txt' is in"):
        sign_bundle(bundle, private_key=keys[0])
    assert not (bundle / SIGNATURE_NAME).exists()


def test_a_file_named_like_the_signature_is_refused(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    bundle = make_bundle(tmp_path / "bundle")
    (bundle / SIGNATURE_NAME).write_text("mine")
    names = [*FILES, EVIDENCE_NAME, SIGNATURE_NAME]
    write_sums({name: bundle / name for name in names}, bundle)
    with pytest.raises(InputError, match="the signature's own name"):
        sign_bundle(bundle, private_key=keys[0])


def test_bad_keys_are_refused_in_a_sentence(tmp_path: Path, keys: tuple[Path, Path]) -> None:
    bundle = make_bundle(tmp_path / "bundle")
    with pytest.raises(InputError, match="not a readable PEM private key"):
        sign_bundle(bundle, private_key_pem="not a key")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with pytest.raises(InputError, match="not an elliptic-curve"):
        sign_bundle(bundle, private_key_pem=pem)
    k1, _ = key_pair(tmp_path, "k1", ec.SECP256K1())
    with pytest.raises(InputError, match="curve secp256k1"):
        sign_bundle(bundle, private_key=k1)
    with pytest.raises(InputError, match="cannot be read"):
        sign_bundle(bundle, private_key=tmp_path / "absent.pem")
    with pytest.raises(InputError, match="either as a file or"):
        sign_bundle(bundle, private_key=keys[0], private_key_pem="x")
    assert not (bundle / SIGNATURE_NAME).exists()


def test_an_encrypted_key_needs_its_password(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "bundle")
    key = ec.generate_private_key(ec.SECP384R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"hunter2"),
    ).decode()
    with pytest.raises(InputError, match="is encrypted"):
        sign_bundle(bundle, private_key_pem=pem)
    sign_bundle(bundle, private_key_pem=pem, password="hunter2")
    public = tmp_path / "p384.pub"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    verify_bundle(bundle, public_key=public)


def test_a_bad_public_key_is_refused(signed: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.pub"
    junk.write_text("junk")
    assert "is not a PEM public key" in refusal(signed, junk)
    assert "cannot be read" in refusal(signed, tmp_path / "absent.pub")


def test_the_evidence_holds_what_the_release_passed(signed: Path) -> None:
    report = make_report()
    evidence = read_evidence(signed)
    assert evidence["schema"] == EVIDENCE_SCHEMA
    assert evidence["commit"] == report.head.rev
    assert evidence["verdict"]["status"] == report.verdict.status
    assert [m["name"] for m in evidence["metrics"]] == [m.name for m in report.metrics]
    assert [g["verdict"] for g in evidence["gates"]] == [g.verdict for g in report.gates]
    assert [d["md5"] for d in evidence["data"]] == [
        d.md5 for d in [*report.lineage.data, *report.lineage.evaluation_data]
    ]


def test_unreadable_evidence_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="carries no gate evidence"):
        read_evidence(tmp_path)
    (tmp_path / EVIDENCE_NAME).write_text("[1]")
    with pytest.raises(InputError, match="is not mlops-ci evidence"):
        read_evidence(tmp_path)


def test_evidence_names_the_release_when_told() -> None:
    named = evidence_from_report(make_report(), artifact="churn", version="v1.3.0",
                                 tag="churn@v1.3.0")
    assert (named["artifact"], named["version"], named["tag"]) == ("churn", "v1.3.0",
                                                                     "churn@v1.3.0")
    assert named["commit"] == make_report().head.rev
    assert not {"artifact", "version", "tag"} & set(evidence_from_report(make_report()))


@pytest.mark.parametrize("case", ["nested too deeply", "too large", "a FIFO"])
def test_hostile_evidence_is_refused_in_a_sentence(tmp_path: Path, case: str) -> None:
    """read_evidence bounds what it reads and never raises RecursionError (exit 3)."""
    import os

    from mlops_ci.release.sign import MAX_EVIDENCE_BYTES

    path = tmp_path / EVIDENCE_NAME
    if case == "nested too deeply":
        path.write_text("[" * 200_000)
        match = "nested too deeply"
    elif case == "too large":
        path.write_text(" " * (MAX_EVIDENCE_BYTES + 1) + "{}")
        match = "more than the"
    else:
        os.mkfifo(path)
        match = "regular file"
    with pytest.raises(InputError, match=match):
        read_evidence(tmp_path)


def model_signing_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The model_signing command of the installed package, run as a deployer runs it."""
    command = [sys.executable, "-m", "model_signing", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_the_model_signing_cli_verifies_our_signature(
    signed: Path, keys: tuple[Path, Path]
) -> None:
    # The command docs/releases.md gives a deployer.
    args = ["verify", "key", ".", "--signature", SIGNATURE_NAME, "--public_key", str(keys[1])]
    done = model_signing_cli(*args, "--no-ignore-git-paths", cwd=signed)
    assert done.returncode == 0, done.stdout + done.stderr
    (signed / "model.pkl").write_bytes(b"evil")
    done = model_signing_cli(*args, "--no-ignore-git-paths", cwd=signed)
    assert done.returncode != 0
    assert "model.pkl" in done.stdout + done.stderr


def test_we_verify_what_the_model_signing_cli_signs(
    tmp_path: Path, keys: tuple[Path, Path]
) -> None:
    bundle = make_bundle(tmp_path / "bundle")
    done = model_signing_cli(
        "sign", "key", ".", "--signature", SIGNATURE_NAME, "--private_key", str(keys[0]),
        "--no-ignore-git-paths", cwd=bundle,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    verify_bundle(bundle, public_key=keys[1])


def test_the_signature_alone_refuses_an_added_or_removed_file(
    signed: Path, keys: tuple[Path, Path]
) -> None:
    # SHA256SUMS rewritten to match each time: only the signature stands in the way.
    (signed / "extra.py").write_text("import os\n")
    names = [*FILES, EVIDENCE_NAME, "extra.py"]
    write_sums({name: signed / name for name in names}, signed)
    message = refusal(signed, keys[1])
    assert "does not verify" in message and "Extra files" in message and "extra.py" in message
    (signed / "extra.py").unlink()
    (signed / "dvc.lock").unlink()
    names = [*[n for n in FILES if n != "dvc.lock"], EVIDENCE_NAME]
    write_sums({name: signed / name for name in names}, signed)
    message = refusal(signed, keys[1])
    assert "does not verify" in message and "Missing files" in message and "dvc.lock" in message


def test_without_the_release_extra_signing_says_how_to_install_it(
    tmp_path: Path, keys: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = make_bundle(tmp_path / "bundle")
    for name in ("model_signing", "model_signing.hashing", "model_signing.signing"):
        monkeypatch.setitem(sys.modules, name, None)  # import raises ImportError
    with pytest.raises(InputError, match=r"pip install 'mlops-ci\[release\]'"):
        sign_bundle(bundle, private_key=keys[0])
