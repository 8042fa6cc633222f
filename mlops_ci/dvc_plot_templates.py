"""mlops-ci's own DVC plot templates, copied into a project's ``.dvc/plots/`` for `dvc plots`.

``confusion_count``: DVC's ``confusion`` template, except that each record is one cell of the
matrix whose ``count`` field is summed, where DVC's counts one record per row. The evaluation
writes its confusion matrix that way (mlops_ci/evaluation/curves.py): a test set of millions of
rows is a file of K² records. A dvc.yaml declares it as::

    plots:
      - eval/plots/confusion.json:
          template: confusion_count
          x: actual
          y: predicted

DVC looks a custom template up in ``.dvc/plots/<name>.json`` (docs/plots.md); mlops-ci's own
report reads the data itself and needs no template file.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from mlops_ci.errors import InputError
from mlops_ci.security import resolve_inside

PLOT_TEMPLATES = ("confusion_count",)
TEMPLATES_DIR = ".dvc/plots"  # where DVC looks for a custom template (Repo.plots.templates_dir)


def template_text(name: str) -> str:
    """The packaged template *name* (one of PLOT_TEMPLATES), as JSON text."""
    packaged = resources.files("mlops_ci.templates") / "dvc_plots" / f"{name}.json"
    return packaged.read_text(encoding="utf-8")


def install_plot_templates(project_root: Path) -> list[Path]:
    """Copy every template of PLOT_TEMPLATES into ``<project_root>/.dvc/plots/``; the files
    written. A file of the same name already there (the user's, or ours) is left as it is.

    The project must be a DVC repository; ``.dvc/plots`` must resolve inside it and be a
    directory (or not exist yet): a file or a dangling link there is an InputError.
    """
    if not (project_root / ".dvc").is_dir():
        raise InputError(
            f"{project_root} is not a DVC repository (it has no .dvc directory), so DVC "
            "would not find a plot template there; run `dvc init` first."
        )
    directory = resolve_inside(project_root, TEMPLATES_DIR, what="DVC's plot templates folder")
    given = project_root / TEMPLATES_DIR
    if os.path.lexists(given) and not given.is_dir():  # a file, or a link to no directory
        raise InputError(
            f"{given} is not a directory (it is a file, or a link to "
            "nothing), so DVC's plot templates cannot go there; move it away and run again."
        )
    directory.mkdir(exist_ok=True)
    written = []
    for name in PLOT_TEMPLATES:
        target = directory / f"{name}.json"
        data = template_text(name).encode("utf-8")
        try:  # O_EXCL: never replace a file, never write through a symlink
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        written.append(target)
    return written
