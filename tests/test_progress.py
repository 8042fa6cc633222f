"""The progress reporter: plain lines in a log, one redrawn line on a terminal, off on request."""

from __future__ import annotations

import io

import pytest

from mlops_ci.progress import Progress


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_lines_at_most_every_tenth(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_CI_PROGRESS", raising=False)
    out = io.StringIO()
    with Progress("Uploading model.skops", total=1000, stream=out, interval=0) as bar:
        for _ in range(100):
            bar.advance(10)
    lines = out.getvalue().splitlines()
    # one line per tenth reached (0 % .. 100 %), and the closing line
    assert 2 <= len(lines) <= 12
    assert "\r" not in out.getvalue()
    assert lines[-1].startswith("Uploading model.skops [########################] 100%")
    assert "1000 B of 1000 B" in lines[-1]


def test_terminal_redraws_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_CI_PROGRESS", raising=False)
    out = _Tty()
    with Progress("Scoring", total=None, unit="rows", stream=out) as bar:
        bar.advance(1_500_000)
    text = out.getvalue()
    assert text.startswith("\r") and text.count("\n") == 1
    assert "1,500,000 rows" in text


def test_off_and_small_totals_print_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLOPS_CI_PROGRESS", "0")
    out = io.StringIO()
    with Progress("x", total=10, stream=out) as bar:
        bar.advance(10)
    monkeypatch.delenv("MLOPS_CI_PROGRESS")
    with Progress("y", total=10, stream=out, min_total=1024) as bar:
        bar.advance(10)
    assert out.getvalue() == ""


def test_failure_is_marked_and_label_is_defused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLOPS_CI_PROGRESS", raising=False)
    out = io.StringIO()
    with pytest.raises(RuntimeError), Progress("::error::x", total=4, stream=out) as bar:
        bar.advance(1)
        raise RuntimeError
    assert out.getvalue().rstrip().endswith("(stopped)")
    assert not out.getvalue().startswith("::")
