"""`mlops-ci check-ref [REF]`: what one registry tag says, for a workflow (GTO's `check-ref`).

A workflow started by a tag push needs the model and the stage the tag names; cutting the
tag's name apart with shell string operations would misread a name with a `/` or a `!`, and
would put the tag's text into a script. This parses it with GTO's grammar
(``registry_tags``) instead: by default the tag of ``$GITHUB_REF``; on Actions the parts become
step outputs (``artifact``, ``action``, ``version``, ``stage``, ``counter``, ``tag``), each
made of the grammar's few characters.

Exit code 0: a registry tag (or a bare vX.Y.Z release tag); 2: anything else, with the forms.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TextIO

from mlops_ci.errors import EXIT_OK, InputError
from mlops_ci.registry_tags import is_version, parse_tag

TAGS_PREFIX = "refs/tags/"


def check_ref(*, ref: str | None, as_json: bool, env: Mapping[str, str], stdout: TextIO) -> int:
    from mlops_ci.github.actions import write_outputs

    tag = _tag_name(ref, env)
    parts = describe(tag)
    if as_json:
        print(json.dumps(parts, indent=4), file=stdout)
    else:
        for key, value in parts.items():
            print(f"{key}: {value}", file=stdout)
    write_outputs(parts, env)
    return EXIT_OK


def describe(tag: str) -> dict[str, str]:
    """The parts of *tag* by name ("" where the tag has none); an InputError outside the grammar."""
    if is_version(tag):  # a single model's release: `vX.Y.Z`, no artifact name
        return {"tag": tag, "artifact": "", "action": "register", "version": tag,
                "stage": "", "counter": ""}
    parsed = parse_tag(tag)
    return {
        "tag": tag,
        "artifact": parsed.artifact,
        "action": parsed.action.value,
        "version": parsed.version or "",
        "stage": parsed.stage or "",
        "counter": "" if parsed.counter is None else str(parsed.counter),
    }


def _tag_name(ref: str | None, env: Mapping[str, str]) -> str:
    if ref is not None:
        return ref.removeprefix(TAGS_PREFIX)
    github_ref = env.get("GITHUB_REF", "")
    if github_ref.startswith(TAGS_PREFIX):
        return github_ref.removeprefix(TAGS_PREFIX)
    where = f"is {github_ref!r}, not a tag" if github_ref else "is not set"
    raise InputError(
        f"No REF was given and $GITHUB_REF {where}. Name the tag (`mlops-ci check-ref "
        "churn#prod#3`), or run it in a workflow started by a tag push."
    )
