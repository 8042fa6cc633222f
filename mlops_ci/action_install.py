"""The action's install step: mlops-ci in a virtualenv of its own, never in the job's Python.

action.yml runs this file by path with the job's `python3` (``python3 -I``), before mlops-ci
exists anywhere, so it uses the standard library only. It:

1. finds uv: on PATH (a `setup-uv` step), else the copy kept in the runner's tool cache, else
   it installs that copy from PyPI with the job's pip (into the tool cache, not into the job's
   Python); without uv it falls back to `python3 -m venv` and pip, slower but the same result;
2. makes the virtualenv under ``$RUNNER_TEMP`` and installs mlops-ci there: the action's own
   source (its wheel, built once per content and kept in the tool cache), or the release that
   the `version` input names, from PyPI; uv's cache stays in the tool cache, so a runner that
   keeps its tool cache (self-hosted ones do; `actions/cache` can keep it on hosted ones)
   installs from the cache, without the network;
3. marks the virtualenv as isolated, so that mlops-ci never puts its bin directory first on the
   PATH of the pipeline's stages (they run with the user's `python`: see ``proc.tool_env``);
4. puts one symlink, ``mlops-ci``, in a bin directory of its own on ``$GITHUB_PATH``, and
   writes the step output ``executable``.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

UV_REQUIREMENT = "uv==0.13.9"
# The file that tells mlops-ci its virtualenv holds nothing the pipeline's stages may use.
ISOLATED_MARKER = "mlops-ci-isolated"
MIN_PYTHON = (3, 10)
_VERSION = re.compile(r"v?([0-9]+(?:\.[0-9A-Za-z]+)*(?:[-+!][0-9A-Za-z.]+)*)")
# The files a wheel of the action's own source is built from.
_SOURCE_FILES = ("pyproject.toml", "README.md")
_SOURCE_DIRS = ("mlops_ci", "templates")


def dependencies(source: Path) -> list[str] | None:
    """The `project.dependencies` of the source's pyproject.toml; None without tomllib (Python
    3.10) or without a list there."""
    try:
        tomllib: Any = importlib.import_module("tomllib")
        data = tomllib.loads((source / "pyproject.toml").read_text(encoding="utf-8"))
    except (ImportError, OSError, ValueError):
        return None
    needs = data.get("project", {}).get("dependencies")
    return [str(n) for n in needs] if isinstance(needs, list) and needs else None


class InstallError(Exception):
    """What went wrong, in a sentence or two for the job's log; exit code 2."""


# The commands that sign, verify and load models need the `release` extra (model-signing,
# pyOpenSSL, skops); the built-in stages need the `evaluate` extra (numpy, scipy, pandas,
# pyarrow, scikit-learn), and so do the commands that judge gates when the project's gates read
# per-row predictions (an `evaluation:` section, or a gate's `test:` or `slice:`).
RELEASE_COMMANDS = frozenset({"release", "fetch", "predict"})
EVALUATE_COMMANDS = frozenset({"train", "evaluate"})
GATE_COMMANDS = frozenset({"run", "gate", "diff", "release", "comment"})
# block or flow style (`test: mcnemar` or `{metric: a, test: mcnemar}`), anywhere in the file
_READS_PREDICTIONS = re.compile(r"(?:^|[\s{,-])(?:evaluation|test|slice)[ \t]*:", re.M)
MAX_CONFIG_BYTES = 1_000_000


def _mentions(path: Path, pattern: re.Pattern[str]) -> bool:
    """Whether the first MAX_CONFIG_BYTES of *path* match *pattern*; False when unreadable. A
    textual check, since this step has only the standard library: a false match only installs
    more."""
    try:
        with path.open("rb") as file:
            text = file.read(MAX_CONFIG_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return False
    return bool(pattern.search(text))


def uses_predictions(config: Path) -> bool:
    """Whether *config* (mlops.yaml) declares gates on per-row predictions."""
    return _mentions(config, _READS_PREDICTIONS)


# `mlops-ci train`, `mlops-ci --debug evaluate`, `python -m mlops_ci evaluate`, ...
_BUILT_IN_STAGE = re.compile(r"\bmlops[-_]ci\b[^\n]*?\b(?:train|evaluate)\b")


def runs_built_in_stages(dvc_yaml: Path) -> bool:
    """Whether *dvc_yaml*'s stages call `mlops-ci train` or `mlops-ci evaluate`: `run`'s
    `dvc repro` then runs them with this installation."""
    return _mentions(dvc_yaml, _BUILT_IN_STAGE)


def extras_for(command: str, config: Path | None = None) -> list[str]:
    """The extras the action's `command` input needs: ["release"] for release, fetch, predict;
    ["evaluate"] for train and evaluate, and for the gate commands when *config* uses
    predictions or the dvc.yaml beside it runs the built-in stages."""
    command = command.strip()
    extras = ["release"] if command in RELEASE_COMMANDS else []
    if command in EVALUATE_COMMANDS or (
        command in GATE_COMMANDS and config is not None
        and (uses_predictions(config) or runs_built_in_stages(config.parent / "dvc.yaml"))
    ):
        extras.append("evaluate")
    return extras


def config_path(env: Mapping[str, str]) -> Path:
    """The mlops.yaml the run step will read: the `config` input in `working-directory`."""
    directory = Path(env.get("MLOPS_CI_WORKING_DIRECTORY", "").strip() or ".")
    return directory / (env.get("MLOPS_CI_CONFIG", "").strip() or "mlops.yaml")


def with_extras(requirement: str, extras: Sequence[str]) -> str:
    """*requirement* (``mlops-ci==1.2.0``, a wheel's path or the source directory) with *extras*."""
    if not extras:
        return requirement
    names = ",".join(extras)
    if requirement.startswith("mlops-ci=="):
        return f"mlops-ci[{names}]=={requirement.removeprefix('mlops-ci==')}"
    return f"mlops-ci[{names}] @ {Path(requirement).resolve().as_uri()}"


def requirement_for(version: str) -> str | None:
    """The PyPI requirement for the `version` input; None for the action's own source."""
    version = version.strip()
    if not version:
        return None
    match = _VERSION.fullmatch(version)
    if not match:
        raise InstallError(
            f"The action's input `version` is {version!r}, not a release number: give one "
            "such as 1.2.0, or leave it empty to install the action's own source."
        )
    return f"mlops-ci=={match[1]}"


def source_digest(source: Path) -> str:
    """A digest of what the action's source wheel is built from (names and bytes)."""
    digest = hashlib.sha256()
    files = [source / name for name in _SOURCE_FILES]
    for directory in _SOURCE_DIRS:
        files += sorted(
            p for p in (source / directory).rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
        )
    for path in files:
        if path.is_file():
            digest.update(str(path.relative_to(source)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:24]


def keep_cache(env: Mapping[str, str]) -> bool:
    """The input `cache`: "true" (the default) keeps uv and its cache in the tool cache."""
    value = env.get("MLOPS_CI_CACHE", "").strip().lower()
    if value in ("", "true", "false"):
        return value != "false"
    raise InstallError(
        f"The action's input `cache` is {value[:40]!r}; it takes \"true\" (keep uv and its "
        "cache in the runner's tool cache) or \"false\" (nothing outlives the job)."
    )


class Installer:
    """One install: where things go, and the commands that put them there."""

    def __init__(self, env: Mapping[str, str], *, python: str = sys.executable) -> None:
        temp = env.get("RUNNER_TEMP") or tempfile.gettempdir()
        self.env = env
        self.python = python
        # The tool cache outlives the job on a self-hosted runner: every later job on it reuses
        # what this one left there (code a pull request ran could have changed it). With the
        # input cache: "false" the caches live under RUNNER_TEMP and go with the job.
        tool_cache = env.get("RUNNER_TOOL_CACHE") if keep_cache(env) else None
        self.home = Path(tool_cache or Path(temp) / "tool-cache") / "mlops-ci"
        self.root = Path(temp) / "mlops-ci"
        self.venv = self.root / "venv"
        self.bin = self.root / "bin"
        self.uv_cache = self.home / "uv-cache"
        self.timings: dict[str, float] = {}  # seconds per phase, for the log and the benchmark

    # --- uv ---

    def find_uv(self) -> str | None:
        """uv on PATH, else the tool cache's copy, else a new copy from PyPI; None without."""
        on_path = shutil.which("uv", path=self.env.get("PATH"))
        if on_path:
            return on_path
        version = UV_REQUIREMENT.partition("==")[2]
        kept = self.home / "uv" / version
        if (kept / "bin" / "uv").is_file():
            return str(kept / "bin" / "uv")
        kept.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=kept.parent, prefix=".new-"))
        # uv is one wheel with no dependencies: no resolver, no sdist, nothing to byte-compile
        # (about a third of pip's time here)
        pip = [self.python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
               "--no-warn-script-location", "--no-deps", "--only-binary=:all:", "--no-compile",
               "--target", str(staging), UV_REQUIREMENT]
        started = time.monotonic()
        fetched = self._run(pip, env={**self.env, "PIP_ROOT_USER_ACTION": "ignore"},
                            check=False, quiet=True)
        self.timings["uv from PyPI"] = time.monotonic() - started
        if fetched.returncode != 0 or not (staging / "bin" / "uv").is_file():
            shutil.rmtree(staging, ignore_errors=True)
            return None
        try:
            staging.rename(kept)
        except OSError:  # another job put it there first
            shutil.rmtree(staging, ignore_errors=True)
        return str(kept / "bin" / "uv")

    def uv_env(self) -> dict[str, str]:
        env = dict(self.env)
        env["UV_CACHE_DIR"] = str(self.uv_cache)
        env["UV_PYTHON_DOWNLOADS"] = "never"  # the venv's Python is the job's, never a download
        env.pop("VIRTUAL_ENV", None)
        self.uv_cache.mkdir(parents=True, exist_ok=True)
        self.root.mkdir(parents=True, exist_ok=True)
        # Hard links from the cache when both are on one file system, copies otherwise.
        same = os.stat(self.uv_cache).st_dev == os.stat(self.root).st_dev
        env["UV_LINK_MODE"] = "hardlink" if same else "copy"
        return env

    def uv(self, uv: str, *args: str) -> None:
        """`uv ARGS`, from the cache alone first (no index requests), else with the network."""
        env = self.uv_env()
        if self._run([uv, *args, "--offline"], env=env, check=False, quiet=True).returncode == 0:
            return
        self._run([uv, *args], env=env)

    def source_wheel(self, uv: str, source: Path) -> Path:
        """The wheel of the action's source, built once per content and kept."""
        kept = self.home / "wheels" / source_digest(source)
        wheels = sorted(kept.glob("*.whl"))
        if wheels:
            return wheels[0]
        kept.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=kept.parent, prefix=".new-"))
        started = time.monotonic()
        self.uv(uv, "build", "--quiet", "--wheel", "--out-dir", str(staging), str(source))
        try:
            staging.rename(kept)
        except OSError:  # built by another job meanwhile
            shutil.rmtree(staging, ignore_errors=True)
        self.timings["wheel built"] = time.monotonic() - started
        return sorted(kept.glob("*.whl"))[0]

    def wheel_beside_dependencies(self, uv: str, source: Path) -> Path:
        """The source wheel; when it must be built, built while uv installs the dependencies
        that pyproject.toml lists (a cold install spends most of its time on both)."""
        kept = sorted((self.home / "wheels" / source_digest(source)).glob("*.whl"))
        needs = None if kept else dependencies(source)
        if not needs:
            return kept[0] if kept else self.source_wheel(uv, source)
        with ThreadPoolExecutor(max_workers=1) as pool:
            building = pool.submit(self.source_wheel, uv, source)
            started = time.monotonic()
            self.uv(uv, "pip", "install", "--quiet", "--python", str(self.venv_python), *needs)
            self.timings["dependencies"] = time.monotonic() - started
            return building.result()

    # --- the install ---

    def install(
        self, source: Path, version: str, extras: Sequence[str] = ()
    ) -> tuple[str, str]:
        """Install; return the installer used ("uv" or "pip") and what it installed."""
        requirement = requirement_for(version)
        if sys.version_info < MIN_PYTHON:
            raise InstallError(
                f"mlops-ci needs Python {'.'.join(map(str, MIN_PYTHON))} or later; the job's "
                f"python3 is {sys.version.split()[0]}. Set the action's input `python-version`."
            )
        shutil.rmtree(self.root, ignore_errors=True)
        uv = self.find_uv()
        if uv is not None:
            self._run([uv, "venv", "--quiet", "--python", self.python, str(self.venv)],
                      env=self.uv_env())
            target = requirement or str(self.wheel_beside_dependencies(uv, source))
            started = time.monotonic()
            self.uv(uv, "pip", "install", "--quiet", "--python", str(self.venv_python),
                    with_extras(target, extras))
            self.timings["packages"] = time.monotonic() - started
            installer = "uv"
            what = with_extras(requirement, extras) if requirement else Path(target).name
        else:
            print("mlops-ci: uv could not be installed; installing with pip (slower)")
            self._run([self.python, "-m", "venv", str(self.venv)])
            self._run([str(self.venv_python), "-m", "pip", "install", "--quiet",
                       "--disable-pip-version-check",
                       with_extras(requirement or str(source), extras)])
            installer = "pip"
            what = requirement or f"the action's source ({source})"
        (self.venv / ISOLATED_MARKER).write_text(
            "This virtualenv holds mlops-ci alone: the pipeline's stages never run with it.\n"
        )
        self.bin.mkdir(parents=True, exist_ok=True)
        (self.bin / "mlops-ci").symlink_to(self.venv / "bin" / "mlops-ci")
        return installer, what

    @property
    def venv_python(self) -> Path:
        return self.venv / "bin" / "python"

    def publish(self) -> None:
        """Put the bin directory on $GITHUB_PATH and name the executable in $GITHUB_OUTPUT."""
        executable = self.bin / "mlops-ci"
        for variable, line in (("GITHUB_PATH", f"{self.bin}\n"),
                               ("GITHUB_OUTPUT", f"executable={executable}\n")):
            path = self.env.get(variable)
            if path:
                with open(path, "a", encoding="utf-8") as f:
                    f.write(line)

    def _run(
        self,
        cmd: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        quiet: bool = False,
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            list(cmd), env=dict(env if env is not None else self.env), text=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            check=False,
        )
        if proc.returncode != 0 and check:
            tail = "\n".join(proc.stdout.splitlines()[-20:])
            raise InstallError(f"`{' '.join(cmd[:3])}` exited {proc.returncode}:\n{tail}")
        if proc.stdout and not quiet:
            print(_defused(proc.stdout), end="")
        return proc


# The runner trims a line's leading whitespace before it looks for `::`, splits lines at a
# carriage return too, and reads the legacy `##[` anywhere in a line.
_COMMAND_START = re.compile(r"(?:^|(?<=[\r\n]))([ \t\f\v]*):(?=:)")
_LEGACY_COMMAND = re.compile(r"#(?=#\[)")


def _defused(text: str) -> str:
    """No line of an installer's output may issue a workflow command: a zero-width space goes
    between the two colons (and the two hashes), as `security.log_safe` does."""
    return _LEGACY_COMMAND.sub("#\u200b", _COMMAND_START.sub(lambda m: m[1] + ":\u200b", text))


def main(env: Mapping[str, str] = os.environ) -> int:
    started = time.monotonic()
    try:
        installer = Installer(env)
        source = Path(env.get("MLOPS_CI_SOURCE") or Path(__file__).resolve().parents[1])
        extras = extras_for(env.get("MLOPS_CI_COMMAND", ""), config_path(env))
        used, what = installer.install(source, env.get("MLOPS_CI_VERSION", ""), extras)
        if extras:
            what += f" with the {', '.join(extras)} extra"
        installer.publish()
    except InstallError as exc:
        message = str(exc).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        print(f"::error title=mlops-ci could not be installed::{message}")
        return 2
    phases = "".join(f", {name} {seconds:.1f} s" for name, seconds in installer.timings.items())
    print(f"mlops-ci: installed {what} with {used} in {time.monotonic() - started:.1f} s"
          f"{phases}, in {installer.venv}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
