"""`dvc repro` stopped because DVC-tracked data are not in the workspace: say so, and how to pull.

A fresh clone has the `.dvc` files and `dvc.lock`, not the data they describe; DVC then says
``missing data 'source': data/raw.csv``. The message names the files, the DVC remote that
`dvc pull` would read (or that none is configured), and the fix.
"""

from __future__ import annotations

import re
from pathlib import Path

# dvc/stage/exceptions.py MissingDataSource: "missing data 'source': a, b" ('sources' for more)
_MISSING = re.compile(r"missing data 'sources?': (?P<files>[^\n]+)")
_SHOWN = 5


def missing_data_message(
    output: str, *, root: Path, pulled: bool, forced: bool = False
) -> str | None:
    """The sentence for DVC's "missing data" refusal in *output*, or None if it is not that."""
    found = _MISSING.search(output)
    if not found:
        return None
    files = [name.strip() for name in found["files"].split(", ") if name.strip()]
    names = ", ".join(repr(name) for name in files[:_SHOWN])
    if len(files) > _SHOWN:
        names += f" and {len(files) - _SHOWN} more"
    one = len(files) == 1
    what = (
        f"`dvc repro` stopped: {names} {'is' if one else 'are'} tracked by DVC but not in the "
        "workspace"
    )
    remote = _default_remote(root)
    if remote is None:
        return (
            f"{what}, and no default DVC remote is configured to pull them from. Add one "
            "(`dvc remote add -d NAME URL`), `dvc push` the data there from a copy that has them, "
            "then run `dvc pull` or `mlops-ci run --pull`."
        )
    if pulled and forced:  # DVC pulls only for stages it would skip, and --force skips none
        return (
            f"{what}: `dvc repro --pull --force` reruns stages without pulling their inputs. "
            f"Run `dvc pull` first (DVC remote '{remote}'), or leave --force out."
        )
    if pulled:
        return (
            f"{what}, and pulling from the DVC remote '{remote}' did not bring "
            f"{'it' if one else 'them'}. Push the data there (`dvc push`) from a copy that has "
            "them, then run again."
        )
    return (
        f"{what} (a fresh clone has only {'its' if one else 'their'} entry in a .dvc file or "
        f"dvc.lock). Fetch {'it' if one else 'them'} from the DVC remote '{remote}' with "
        "`dvc pull`, or run `mlops-ci run --pull`."
    )


def _default_remote(root: Path) -> str | None:
    from dvc.repo import Repo

    from mlops_ci.base_files import default_remote

    try:
        with Repo(str(root)) as repo:
            return default_remote(repo)
    except Exception:  # a repo DVC cannot open here names no remote: the message still helps
        return None
