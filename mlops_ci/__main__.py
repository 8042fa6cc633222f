"""Entry point: run the CLI and turn every :class:`MlopsError` into one message and an exit code.

Whatever it prints may land in a GitHub Actions log, and messages carry untrusted text (a
stage's output, a path from mlops.yaml): every line is defused with ``log_safe`` and every
known credential masked, tracebacks (``--debug``, or a bug) included.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived. Not a KeyboardInterrupt: typer would swallow that silently."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def main(argv: list[str] | None = None) -> int:
    from mlops_ci.cli import app, debug_requested
    from mlops_ci.errors import EXIT_INTERNAL, MlopsError

    args = sys.argv[1:] if argv is None else argv
    secrets = _secrets(args)
    try:
        with _signals_raise_interrupted():
            # Standalone mode: typer prints usage errors itself and exits with code 2. Commands
            # end by raising typer.Exit with their exit code, so every path ends in SystemExit.
            app(args=args, prog_name="mlops-ci")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Interrupted as exc:
        what = "interrupted" if exc.signum == signal.SIGINT else "terminated"
        print(f"mlops-ci: {what}", file=sys.stderr)
        return 128 + exc.signum
    except MlopsError as exc:
        if debug_requested(args):
            print_traceback(exc, secrets)
        else:
            print(_safe(f"mlops-ci: error: {exc}", secrets), file=sys.stderr)
        return exc.exit_code
    except Exception as exc:  # a bug: the traceback is for us, the token is for no one
        print_traceback(exc, secrets)
        print(
            "mlops-ci: internal error: this is a bug in mlops-ci, not a verdict on the model "
            f"(exit code {EXIT_INTERNAL}); please report it with the traceback above.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    return 0


@contextmanager
def _signals_raise_interrupted() -> Iterator[None]:
    """SIGINT and SIGTERM raise Interrupted, so that a running `dvc repro` is stopped with its
    whole process group (it runs in a session of its own, out of reach of the terminal's
    Ctrl-C and of the runner's signals) before mlops-ci exits."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signum)

    previous = {}
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, handler)
    except ValueError:  # not the main thread: signals stay as they are
        pass
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def _secrets(args: list[str]) -> set[str]:
    from mlops_ci.security import known_secrets

    given = [a.partition("=")[2] for a in args if a.startswith("--github-token=")]
    given += [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--github-token"]
    return known_secrets(os.environ, *given)


def _safe(text: str, secrets: set[str]) -> str:
    from mlops_ci.security import log_safe, mask_secrets

    return log_safe(mask_secrets(text, secrets))


def print_traceback(exc: BaseException, secrets: set[str]) -> None:
    """The traceback, chained exceptions included, formatted here rather than by
    sys.excepthook, so that no secret and no workflow command reaches the log through it."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    print(_safe(text, secrets), end="", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
