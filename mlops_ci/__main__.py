"""Entry point: run the CLI and turn every :class:`MlopsError` into one message and an exit code."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from mlops_ci.cli import app, debug_requested
    from mlops_ci.errors import MlopsError

    args = sys.argv[1:] if argv is None else argv
    try:
        # Standalone mode: typer prints usage errors itself and exits with code 2. Commands
        # end by raising typer.Exit with their exit code, so every path ends in SystemExit.
        app(args=args, prog_name="mlops-ci")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except MlopsError as exc:
        if debug_requested(args):
            raise
        print(f"mlops-ci: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("mlops-ci: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
