"""The jinja2 loader for `report.template_dir`: templates are read from inside it, nothing else.

jinja2's FileSystemLoader refuses ``..`` in a template name but follows symlinks, so a
template (or an ``{% include %}`` of one) linked to a file elsewhere on the runner would be
rendered into the published report. This loader resolves each template's real path first,
and refuses a FIFO, a device or a directory by its type before opening anything.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, TemplateNotFound
from jinja2.loaders import split_template_path

from mlops_ci.errors import ConfigError
from mlops_ci.security import check_regular_file, is_inside, read_regular_file


class TemplateDirLoader(BaseLoader):
    """Load templates from *directory* (a real path) only; a missing one falls through."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(os.path.realpath(directory))

    def get_source(
        self, environment: Any, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        candidate = self.directory.joinpath(*split_template_path(template))
        if not os.path.lexists(candidate):
            raise TemplateNotFound(template)  # the packaged template of that name is used
        real = Path(os.path.realpath(candidate))
        if not is_inside(real, self.directory):
            raise ConfigError(
                f"The template {candidate} resolves to {real}, outside report.template_dir "
                f"{self.directory}; templates are read only from inside it, so copy the file "
                "in instead of linking it."
            )
        check_regular_file(real, what="The template", error=ConfigError)
        data = read_regular_file(real, what="The template", error=ConfigError)
        try:
            source = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"The template {real} is not UTF-8 text (byte {exc.start}); save it with UTF-8 "
                "encoding."
            ) from None
        mtime = os.stat(real).st_mtime

        def uptodate() -> bool:
            try:
                return os.stat(real).st_mtime == mtime
            except OSError:
                return False

        return source, str(real), uptodate
