"""SHA256SUMS: written in coreutils' format, read back, and every directory verified strictly.

Real files in tmp_path, and the real `sha256sum` binary in both directions: it checks what we
write, and we verify what it writes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mlops_ci.errors import InputError
from mlops_ci.release.bundle import (
    CHUNK_SIZE,
    SUMS_NAME,
    collect_bundle,
    format_sums,
    parse_sums,
    sha256_file,
    verify_directory,
    write_sums,
)

SHA256SUM = shutil.which("sha256sum")
needs_sha256sum = pytest.mark.skipif(SHA256SUM is None, reason="coreutils' sha256sum is absent")

FILES = {
    "model.pkl": b"\x00\x01model bytes\xff" * 1000,
    "report.json": b'{"verdict": "pass"}\n',
    "dvc.lock": b"schema: '2.0'\n",
    "a name with spaces.md": b"# card\n",
}


def make_bundle(directory: Path) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in FILES.items():
        (directory / name).write_bytes(data)
    return write_sums({name: directory / name for name in FILES}, directory)


def test_format_is_sha256sum_text_mode_sorted_by_name(tmp_path: Path) -> None:
    digests = make_bundle(tmp_path)
    text = (tmp_path / SUMS_NAME).read_bytes().decode()
    expected = "".join(
        f"{hashlib.sha256(FILES[name]).hexdigest()}  {name}\n" for name in sorted(FILES)
    )
    assert text == expected
    assert digests == {name: hashlib.sha256(data).hexdigest() for name, data in FILES.items()}


def test_hashing_streams_a_file_larger_than_one_chunk(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    data = os.urandom(CHUNK_SIZE * 2 + 17)
    big.write_bytes(data)
    assert sha256_file(big) == hashlib.sha256(data).hexdigest()


@needs_sha256sum
def test_sha256sum_checks_what_we_write(tmp_path: Path) -> None:
    make_bundle(tmp_path)
    done = subprocess.run(
        [str(SHA256SUM), "-c", "--strict", SUMS_NAME],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (tmp_path / "dvc.lock").write_bytes(b"tampered\n")
    done = subprocess.run(
        [str(SHA256SUM), "-c", "--strict", SUMS_NAME],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 1
    assert "dvc.lock: FAILED" in done.stdout


@needs_sha256sum
@pytest.mark.parametrize("mode", ["--text", "--binary"])
def test_we_verify_what_sha256sum_writes(tmp_path: Path, mode: str) -> None:
    for name, data in FILES.items():
        (tmp_path / name).write_bytes(data)
    done = subprocess.run(
        [str(SHA256SUM), mode, *sorted(FILES)],
        cwd=tmp_path, capture_output=True, timeout=60, check=True,
    )
    (tmp_path / SUMS_NAME).write_bytes(done.stdout)
    verified = verify_directory(tmp_path)
    assert verified == {name: hashlib.sha256(data).hexdigest() for name, data in FILES.items()}


def refusal(directory: Path, **kwargs: object) -> str:
    with pytest.raises(InputError) as caught:
        verify_directory(directory, **kwargs)  # type: ignore[arg-type]
    return str(caught.value)


def test_a_changed_byte_is_refused(tmp_path: Path) -> None:
    make_bundle(tmp_path)
    model = tmp_path / "model.pkl"
    data = bytearray(model.read_bytes())
    data[500] ^= 0x01
    model.write_bytes(bytes(data))
    message = refusal(tmp_path)
    assert "'model.pkl' does not match SHA256SUMS" in message
    assert "report.json" not in message


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    make_bundle(tmp_path)
    (tmp_path / "report.json").unlink()
    assert "'report.json' is listed in SHA256SUMS but missing" in refusal(tmp_path)


def test_an_extra_file_is_refused(tmp_path: Path) -> None:
    make_bundle(tmp_path)
    (tmp_path / "evil.py").write_text("import os\n")
    assert "'evil.py' is in" in refusal(tmp_path)
    assert "not listed in SHA256SUMS" in refusal(tmp_path)


def test_an_extra_subdirectory_is_refused(tmp_path: Path) -> None:
    make_bundle(tmp_path)
    (tmp_path / "sub").mkdir()
    assert "'sub' is in" in refusal(tmp_path)


def test_ignored_names_are_allowed_but_nothing_else(tmp_path: Path) -> None:
    make_bundle(tmp_path)
    (tmp_path / "model.sig").write_text("{}")
    verify_directory(tmp_path, ignore=["model.sig"])
    assert "'model.sig' is in" in refusal(tmp_path)


def test_a_symlink_out_of_the_directory_is_refused(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    make_bundle(bundle)
    outside = tmp_path / "secret.txt"
    outside.write_bytes(FILES["dvc.lock"])  # same bytes: only the link itself can be refused
    (bundle / "dvc.lock").unlink()
    (bundle / "dvc.lock").symlink_to(outside)
    assert "'dvc.lock' is a symbolic link out of the bundle's directory" in refusal(bundle)


def test_a_symlink_within_the_directory_is_refused_too(tmp_path: Path) -> None:
    make_bundle(tmp_path)
    (tmp_path / "dvc.lock").unlink()
    (tmp_path / "dvc.lock").symlink_to("report.json")
    assert "'dvc.lock' is a symbolic link to another file" in refusal(tmp_path)


def test_a_symlinked_sums_file_is_refused(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    make_bundle(bundle)
    (bundle / SUMS_NAME).rename(tmp_path / "sums")
    (bundle / SUMS_NAME).symlink_to(tmp_path / "sums")
    assert "is a symbolic link" in refusal(bundle)


def test_a_missing_sums_file_is_refused(tmp_path: Path) -> None:
    make_bundle(tmp_path)
    (tmp_path / SUMS_NAME).unlink()
    assert "SHA256SUMS is missing" in refusal(tmp_path)


def test_every_problem_is_named_at_once(tmp_path: Path) -> None:
    make_bundle(tmp_path)
    (tmp_path / "report.json").unlink()
    (tmp_path / "extra").write_text("x")
    (tmp_path / "dvc.lock").write_text("changed")
    message = refusal(tmp_path)
    assert "'report.json' is listed" in message
    assert "'extra' is in" in message
    assert "'dvc.lock' does not match" in message


HEX = "0" * 64


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../outside", "holds a directory"),
        ("/etc/passwd", "is an absolute path"),
        ("..", "names a directory"),
        ("sub/model.pkl", "holds a directory"),
        ("back\\slash", "holds a backslash"),
        ("tab\there", "control character"),
        (SUMS_NAME, "is reserved"),
    ],
)
def test_a_listed_name_a_bundle_cannot_hold_is_refused(name: str, why: str) -> None:
    with pytest.raises(InputError, match="SHA256SUMS line 2") as caught:
        parse_sums(f"{HEX}  ok.txt\n{HEX}  {name}\n".encode())
    assert why in str(caught.value)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (f"{HEX} ok.txt\n", "is not '<64 hex digits>  <name>'"),
        (f"{HEX[:-1]}  ok.txt\n", "is not '<64 hex digits>  <name>'"),
        ("\n", "is not '<64 hex digits>  <name>'"),
        (f"\\{HEX}  new\\nline\n", "escaped form"),
        (f"{HEX}  a\n{HEX}  a\n", "a second time"),
        ("", "lists no file"),
    ],
)
def test_a_malformed_sums_file_is_refused(text: str, why: str) -> None:
    with pytest.raises(InputError, match="SHA256SUMS") as caught:
        parse_sums(text.encode())
    assert why in str(caught.value)


def test_non_utf8_is_refused() -> None:
    with pytest.raises(InputError, match="not UTF-8"):
        parse_sums(HEX.encode() + b"  \xff\n")


def test_a_last_line_without_newline_is_read_as_sha256sum_does() -> None:
    assert parse_sums(f"{HEX}  a\n{HEX.upper()} *b".encode()) == {"a": HEX, "b": HEX}


@pytest.mark.parametrize("name", ["new\nline", "back\\slash", "../up", "", SUMS_NAME])
def test_writing_refuses_a_name_sha256sum_would_escape_or_that_escapes(name: str) -> None:
    with pytest.raises(InputError, match="rename the file"):
        format_sums({name: HEX})


def test_writing_refuses_a_missing_or_special_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot be read"):
        write_sums({"model.pkl": tmp_path / "absent"}, tmp_path)
    with pytest.raises(InputError, match="not a regular file"):
        write_sums({"model.pkl": tmp_path}, tmp_path)
    assert not (tmp_path / SUMS_NAME).exists()


def test_collect_copies_hashes_and_lists_every_file(tmp_path: Path) -> None:
    source = tmp_path / "build"
    source.mkdir()
    for name, data in FILES.items():
        (source / name.replace(" ", "_")).write_bytes(data)
    files = {name: source / name.replace(" ", "_") for name in FILES}
    bundle = tmp_path / "bundle"
    digests = collect_bundle(files, bundle, texts={"evidence.json": '{"ok": true}\n'})
    assert sorted(p.name for p in bundle.iterdir()) == sorted([*FILES, "evidence.json", SUMS_NAME])
    assert (bundle / "model.pkl").read_bytes() == FILES["model.pkl"]
    assert digests["evidence.json"] == hashlib.sha256(b'{"ok": true}\n').hexdigest()
    assert verify_directory(bundle) == digests


def test_collect_refuses_a_name_twice_a_bad_name_and_a_used_directory(tmp_path: Path) -> None:
    (tmp_path / "m").write_bytes(b"m")
    with pytest.raises(InputError, match="given twice"):
        collect_bundle({"a": tmp_path / "m"}, tmp_path / "b1", texts={"a": "x"})
    with pytest.raises(InputError, match="rename the file"):
        collect_bundle({"../a": tmp_path / "m"}, tmp_path / "b2")
    with pytest.raises(InputError, match="is not empty"):
        collect_bundle({"a": tmp_path / "m"}, tmp_path)
    with pytest.raises(InputError, match="cannot be read"):
        collect_bundle({"a": tmp_path / "absent"}, tmp_path / "b3")


def test_hashing_without_following_refuses_a_symlink_and_a_fifo(tmp_path: Path) -> None:
    (tmp_path / "real").write_bytes(b"x")
    (tmp_path / "link").symlink_to("real")
    assert sha256_file(tmp_path / "link") == hashlib.sha256(b"x").hexdigest()
    with pytest.raises(InputError, match="is a symbolic link"):
        sha256_file(tmp_path / "link", follow_symlinks=False)
    os.mkfifo(tmp_path / "fifo")
    with pytest.raises(InputError, match="not a regular file"):
        sha256_file(tmp_path / "fifo", follow_symlinks=False)  # refused, never blocks


def test_a_fifo_in_the_bundle_is_refused_unread(tmp_path: Path) -> None:
    make_bundle(tmp_path)
    (tmp_path / "dvc.lock").unlink()
    os.mkfifo(tmp_path / "dvc.lock")
    assert "'dvc.lock' is not a regular file" in refusal(tmp_path)
