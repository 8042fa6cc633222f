"""The error hierarchy.

Every error the user can cause or fix is a subclass of :class:`MlopsError`. It is raised where the
problem is found, carries its exit code, and is turned into one message in exactly one place:
the entry point (``mlops_ci.__main__``). ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_USAGE = 2
# A bug in mlops-ci: never 1, which CI (and `fail-on-gate: false`) reads as a verdict.
EXIT_INTERNAL = 3


@dataclass(frozen=True)
class Location:
    """Where in the repository an error stands, for an annotation: a file, its line, a key."""

    file: Path
    line: int | None = None  # 1-based
    key: str | None = None  # a key path ("gates[0].min") or a stage's name


class MlopsError(Exception):
    """A failure the user can act on; its message is one or two plain sentences."""

    exit_code = EXIT_USAGE
    location: Location | None = None  # set with located(), where the place is known
    stage: str | None = None  # the pipeline stage that failed, when one did

    def located(self, location: Location | None) -> MlopsError:
        """This error, pointing at *location* (kept when it already has one)."""
        if self.location is None:
            self.location = location
        return self


class ConfigError(MlopsError):
    """mlops.yaml is missing, malformed or inconsistent with the repository."""


class InputError(MlopsError):
    """A file the tool reads (metrics, params, a report, an event payload) is unusable."""


class RepositoryError(MlopsError):
    """The directory is not a git or DVC repository, or a revision cannot be resolved."""


class CommandError(MlopsError):
    """A git or dvc subprocess failed.

    Carries the command, its exit code and the tail of its output, so that the message can show
    what the user needs to see without a traceback.
    """

    def __init__(self, message: str, *, cmd: list[str], returncode: int, output_tail: str):
        super().__init__(message)
        self.cmd = cmd
        self.returncode = returncode
        self.output_tail = output_tail


class CommandTimeoutError(CommandError):
    """A subprocess ran past its time limit and was stopped with its whole process group."""

    def __init__(
        self, message: str, *, cmd: list[str], timeout: float, output: str, output_tail: str
    ):
        super().__init__(message, cmd=cmd, returncode=-1, output_tail=output_tail)
        self.timeout = timeout
        self.output = output


class PipelineError(CommandError):
    """`dvc repro` failed: a stage's command exited non-zero or DVC refused the pipeline."""


class GitHubError(MlopsError):
    """A GitHub API request failed in a way retrying will not fix."""
