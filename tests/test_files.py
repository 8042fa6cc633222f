"""File helpers: atomic writes, and JSON reading whose every failure is one clear sentence."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from mlops_ci.errors import InputError
from mlops_ci.files import read_json, write_text_atomic, write_texts_atomic
from mlops_ci.report import load_report


def read(path: Path):
    return read_json(path, label=f"The thing {path.name}", missing="is gone.", fix="Try again.")


def test_read_json_returns_the_document(tmp_path: Path):
    (tmp_path / "a.json").write_text('{"x": [1, 2]}')
    assert read(tmp_path / "a.json") == {"x": [1, 2]}


@pytest.mark.parametrize(
    "content,message",
    [
        (b"\xff\xfe{}", "The thing bad.json is not UTF-8 text, so it is not JSON. Try again."),
        (b'{"x": 1,,}', "The thing bad.json is not valid JSON (line 1, column 9: Expecting "
                        "property name enclosed in double quotes). Try again."),
        (b"[" * 100_000, "The thing bad.json is nested too deeply to be read. Try again."),
    ],
)
def test_read_json_failures_are_one_sentence(tmp_path: Path, content: bytes, message: str):
    (tmp_path / "bad.json").write_bytes(content)
    with pytest.raises(InputError) as err:
        read(tmp_path / "bad.json")
    assert str(err.value) == message


def test_an_integer_too_long_to_convert_is_one_sentence(tmp_path: Path):
    (tmp_path / "big.json").write_text('{"x": ' + "9" * 5000 + "}")
    with pytest.raises(InputError, match=r"^The thing big.json holds a number too long to be read"):
        read(tmp_path / "big.json")


def test_read_json_missing_file(tmp_path: Path):
    with pytest.raises(InputError, match=r"^The thing none.json is gone\.$"):
        read(tmp_path / "none.json")


def test_a_report_that_is_not_utf8_is_an_input_error(tmp_path: Path):
    (tmp_path / "report.json").write_bytes(b"\x80not a report")
    with pytest.raises(InputError, match="not UTF-8 text.*Pass the report.json"):
        load_report(tmp_path / "report.json")


def test_a_missing_report_says_how_to_make_one(tmp_path: Path):
    with pytest.raises(InputError, match="does not exist. Run `mlops-ci run` first"):
        load_report(tmp_path / "report.json")


def test_write_text_atomic_replaces_whole_and_leaves_no_temporary(tmp_path: Path):
    target = tmp_path / "sub" / "out.md"
    write_text_atomic(target, "one")
    write_text_atomic(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["out.md"]


# --- writes never destroy ------------------------------------------------------------------


def no_temporaries(directory: Path) -> bool:
    return not [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


def test_write_text_atomic_writes_through_a_symlink_and_keeps_it(tmp_path: Path):
    real = tmp_path / "real" / "card.md"
    real.parent.mkdir()
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "card.md"
    link.symlink_to(real)
    write_text_atomic(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert no_temporaries(tmp_path) and no_temporaries(real.parent)


def test_write_text_atomic_keeps_the_permissions_of_the_file_it_replaces(tmp_path: Path):
    target = tmp_path / "report.md"
    target.write_text("old")
    target.chmod(0o604)
    write_text_atomic(target, "new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o604


@pytest.mark.parametrize("kind", ["dangling", "looping"])
def test_write_text_atomic_refuses_a_broken_symlink(tmp_path: Path, kind: str):
    link = tmp_path / "card.md"
    if kind == "dangling":
        link.symlink_to(tmp_path / "nowhere" / "card.md")
    else:
        link.symlink_to(tmp_path / "card.md")
    with pytest.raises(InputError, match=r"^Cannot write .*card\.md: it is a symlink to .*, "
                                         r"which does not exist or loops; fix the link"):
        write_text_atomic(link, "new")
    assert link.is_symlink()
    assert not (tmp_path / "nowhere").exists()
    assert no_temporaries(tmp_path)


def test_write_text_atomic_refuses_a_fifo_and_leaves_it(tmp_path: Path):
    fifo = tmp_path / "card.md"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match=r"card\.md: it is a named pipe \(FIFO\); mlops-ci "
                                         r"writes only regular files"):
        write_text_atomic(fifo, "new")
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert no_temporaries(tmp_path)


def test_write_text_atomic_refuses_a_device_and_leaves_it(tmp_path: Path):
    if os.geteuid() != 0:
        pytest.skip("creating a device node needs root")
    device = tmp_path / "null"
    os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # the numbers of /dev/null
    with pytest.raises(InputError, match=r"null: it is a device;"):
        write_text_atomic(device, "new")
    assert stat.S_ISCHR(device.lstat().st_mode)
    assert no_temporaries(tmp_path)


def test_write_text_atomic_refuses_a_symlink_to_a_device(tmp_path: Path):
    link = tmp_path / "card.md"
    link.symlink_to("/dev/null")
    with pytest.raises(InputError, match=r"card\.md \(a symlink to /dev/null\): it is a device"):
        write_text_atomic(link, "new")
    assert link.is_symlink()
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)


def test_write_text_atomic_refuses_a_directory(tmp_path: Path):
    (tmp_path / "card.md").mkdir()
    with pytest.raises(InputError, match=r"card\.md: it is a directory;"):
        write_text_atomic(tmp_path / "card.md", "new")
    assert (tmp_path / "card.md").is_dir()


def test_write_text_atomic_under_a_regular_file_names_the_file(tmp_path: Path):
    (tmp_path / "out").write_text("keep")
    with pytest.raises(InputError, match=r"^Cannot write .*out/sub/card\.md: .*/out is a file, "
                                         r"not a directory; choose another path\.$"):
        write_text_atomic(tmp_path / "out" / "sub" / "card.md", "new")
    assert (tmp_path / "out").read_text() == "keep"


def test_write_texts_atomic_writes_nothing_when_one_target_is_refused(tmp_path: Path):
    (tmp_path / "report.json").write_text("old json")
    (tmp_path / "model-card.md").mkdir()
    with pytest.raises(InputError, match="it is a directory"):
        write_texts_atomic(
            {tmp_path / "report.json": "new json", tmp_path / "model-card.md": "new card"}
        )
    assert (tmp_path / "report.json").read_text() == "old json"
    assert no_temporaries(tmp_path)


def test_write_texts_atomic_encodes_everything_before_writing(tmp_path: Path):
    (tmp_path / "report.md").write_text("old md")
    with pytest.raises(UnicodeEncodeError):
        write_texts_atomic({tmp_path / "report.md": "new", tmp_path / "report.json": "\udcff"})
    assert (tmp_path / "report.md").read_text() == "old md"
    assert not (tmp_path / "report.json").exists()
    assert no_temporaries(tmp_path)


# --- reads refuse what is not a regular file -------------------------------------------------


def test_read_json_refuses_a_directory(tmp_path: Path):
    (tmp_path / "report.json").mkdir()
    with pytest.raises(InputError, match=r"^The thing report\.json is a directory, not a file\. "
                                         r"Try again\.$"):
        read(tmp_path / "report.json")


def test_read_json_refuses_a_fifo_without_opening_it(tmp_path: Path):
    os.mkfifo(tmp_path / "report.json")
    # Opening a FIFO for reading blocks until a writer comes: a failing test would hang, so
    # the read runs in a thread the test does not wait for.
    errors: list[BaseException] = []
    thread = threading.Thread(target=lambda: _catch(errors, tmp_path / "report.json"), daemon=True)
    thread.start()
    thread.join(timeout=30)
    if thread.is_alive():
        with open(tmp_path / "report.json", "w"):  # release the reader, then fail
            pass
        pytest.fail("read_json blocked on a FIFO")
    assert len(errors) == 1 and isinstance(errors[0], InputError)
    assert "is a named pipe (FIFO), not a file" in str(errors[0])


def _catch(errors: list[BaseException], path: Path) -> None:
    try:
        read(path)
    except BaseException as exc:  # handed to the test thread
        errors.append(exc)


def test_read_json_refuses_a_device(tmp_path: Path):
    with pytest.raises(InputError, match=r"^The thing null is a device, not a file"):
        read(Path("/dev/null"))


def test_replace_all_puts_back_every_file_it_replaced_when_a_later_rename_fails(tmp_path: Path):
    from mlops_ci.files import replace_all

    (tmp_path / "a.json").write_text("old a")
    (tmp_path / "b.json").write_text("old b")
    (tmp_path / "new-a").write_text("new a")
    (tmp_path / "new-b").write_text("new b")
    moves = [(tmp_path / "new-a", tmp_path / "a.json"), (tmp_path / "new-b", tmp_path / "b.json"),
             (tmp_path / "new-c", tmp_path / "c.json")]  # new-c is gone: its rename fails
    with pytest.raises(InputError, match=r"c\.json: .*put back as they were"):
        replace_all(moves)
    assert (tmp_path / "a.json").read_text() == "old a"
    assert (tmp_path / "b.json").read_text() == "old b"
    assert not (tmp_path / "c.json").exists()
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".old")]


def test_replace_all_refuses_a_directory_before_it_moves_anything(tmp_path: Path):
    from mlops_ci.files import replace_all

    (tmp_path / "a.json").write_text("old a")
    (tmp_path / "new-a").write_text("new a")
    (tmp_path / "new-b").write_text("new b")
    (tmp_path / "b.png").mkdir()
    with pytest.raises(InputError, match=r"b\.png: it is a directory"):
        replace_all([(tmp_path / "new-a", tmp_path / "a.json"),
                     (tmp_path / "new-b", tmp_path / "b.png")])
    assert (tmp_path / "a.json").read_text() == "old a"
    assert (tmp_path / "b.png").is_dir()


@pytest.mark.parametrize("dangling", [False, True])
def test_write_texts_atomic_can_replace_a_symlink_instead_of_writing_through_it(
    tmp_path: Path, dangling: bool
):
    cache = tmp_path / "cache"
    cache.mkdir()
    real = cache / "ab12"
    if not dangling:
        real.write_text("cached")
        real.chmod(0o444)
    link = tmp_path / "roc.json"
    link.symlink_to(real)
    write_texts_atomic({link: "new"}, replace_links=True)
    assert not link.is_symlink() and link.read_text() == "new"
    assert stat.S_IMODE(link.stat().st_mode) != 0o444  # not the cache object's permissions
    assert (real.read_text() == "cached") if not dangling else not real.exists()
    assert no_temporaries(tmp_path) and no_temporaries(cache)
