"""What `dvc repro` is asked to do: its targets, `--pull`, and the few flags mlops-ci passes on.

They come from the command line or from `pipeline:` in mlops.yaml, which the pull request's
author writes, so they are data: a flag is one of ``REPRO_FLAGS``, a target is a stage that
dvc.yaml declares, and both reach DVC as argv elements (targets after ``--``), never through a
shell. The command line wins over mlops.yaml.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mlops_ci.errors import ConfigError, InputError

# The `dvc repro` flags that change what is reproduced, never what mlops-ci then reads or
# whether a failure counts: not --dry, --keep-going,
# --ignore-errors, --no-commit, --glob or -R.
REPRO_FLAGS = (
    "--force",
    "--single-item",
    "--pipeline",
    "--all-pipelines",
    "--downstream",
    "--force-downstream",
    "--allow-missing",
    "--no-run-cache",
)

CLI_TARGETS = "--target"
CONFIG_TARGETS = "pipeline.targets in mlops.yaml"


@dataclass(frozen=True)
class ReproOptions:
    targets: tuple[str, ...] = ()
    pull: bool = False
    flags: tuple[str, ...] = ()
    targets_from: str = CONFIG_TARGETS  # where the targets were set, for the message

    def args(self) -> list[str]:
        """The arguments after `dvc repro`."""
        pull = ["--pull"] if self.pull else []
        targets = ["--", *self.targets] if self.targets else []
        return [*pull, *self.flags, *targets]

    def shown(self) -> str:
        return shlex.join(["dvc", "repro", *self.args()])


def repro_flag(value: str, *, what: str) -> str:
    """*value* as `dvc repro` spells it (``force`` → ``--force``), if the allowlist has it."""
    flag = value.strip()
    flag = flag if flag.startswith("--") else f"--{flag}"
    if flag in REPRO_FLAGS:
        return flag
    raise InputError(
        f"{what} {value!r} is not a `dvc repro` flag mlops-ci passes on; use one of "
        f"{', '.join(REPRO_FLAGS)} (targets go in --target, pulling is --pull)."
    )


def choose(
    *,
    targets: Sequence[str],
    pull: bool | None,
    flags: Sequence[str],
    configured: ReproOptions,
) -> ReproOptions:
    """The command line's choices, each falling back to mlops.yaml's when not given."""
    return ReproOptions(
        targets=tuple(targets) or configured.targets,
        pull=configured.pull if pull is None else pull,
        flags=tuple(dict.fromkeys(repro_flag(f, what="--repro-flag") for f in flags))
        or configured.flags,
        targets_from=CLI_TARGETS if targets else configured.targets_from,
    )


def check_targets(root: Path, options: ReproOptions) -> None:
    """Every target is a stage of the pipeline, or an error that lists the stages there are."""
    if not options.targets:
        return
    stages = pipeline_stages(root)
    unknown = [target for target in options.targets if target not in stages]
    if not unknown:
        return
    listed = ", ".join(stages[:20]) + (f" and {len(stages) - 20} more" if len(stages) > 20 else "")
    there = f"The stages are: {listed}." if stages else "dvc.yaml declares no stage."
    names = ", ".join(repr(target) for target in unknown)
    error = InputError if options.targets_from == CLI_TARGETS else ConfigError
    raise error(
        f"{options.targets_from} names {names}, which is not a stage in the pipeline. {there}"
    )


def pipeline_stages(root: Path) -> list[str]:
    """The stages `dvc repro` accepts by name (`train`, `sub/dvc.yaml:eval`, `train@1`)."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo
    from dvc.stage import PipelineStage

    from mlops_ci.pipeline import use_our_log_handlers

    use_our_log_handlers()
    try:
        with Repo(str(root)) as repo:
            return [s.addressing for s in repo.index.stages if isinstance(s, PipelineStage)]
    except DvcException as exc:
        raise InputError(f"DVC cannot read the pipeline's stages: {exc}") from None
