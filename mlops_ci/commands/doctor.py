"""`mlops-ci doctor`: check that the repository is ready for mlops-ci, and say how to fix it.

Exit code 0: ready (warnings do not block); 1: something blocks a run; 2: bad input.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TextIO


def doctor(
    *,
    cwd: Path,
    base: str | None,
    github_token: str | None,
    as_json: bool,
    env: Mapping[str, str],
    color: bool,
    stdout: TextIO,
    stderr: TextIO,
) -> int:
    from mlops_ci.doctor import diagnose, exit_code, render_json, render_markdown, render_text
    from mlops_ci.github.actions import append_step_summary
    from mlops_ci.github.publish import resolve_token
    from mlops_ci.github.tokens import mask_secret

    token = resolve_token(github_token, env)
    if token:
        mask_secret(token)  # whatever logs, the token is not in it
        if env.get("GITHUB_ACTIONS") == "true":
            from mlops_ci.github.actions import add_mask

            # on stderr under --json, which keeps stdout one JSON document
            print(add_mask(token), file=stderr if as_json else stdout)
    diagnosis = diagnose(cwd, env=env, base=base, token=token)
    stdout.write(render_json(diagnosis) if as_json else render_text(diagnosis, color=color))
    if env.get("GITHUB_ACTIONS") == "true":
        append_step_summary(render_markdown(diagnosis), env)
    return exit_code(diagnosis)
