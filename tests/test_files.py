"""File helpers: atomic writes, and JSON reading whose every failure is one clear sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_ci.errors import InputError
from mlops_ci.files import read_json, write_text_atomic
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
