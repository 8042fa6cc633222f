"""Print what the action costs a job beyond the user's own stages, beside pip and the bare CLI.

The action's install step (mlops_ci/action_install.py) is run as action.yml runs it, with
``python3 -I``, a RUNNER_TEMP and a RUNNER_TOOL_CACHE of its own and no uv on PATH:

- cold: an empty tool cache: pip fetches uv from PyPI, uv builds the action's wheel and
  downloads every dependency (what a fresh hosted runner pays);
- cold, uv kept: the uv binary kept, uv's cache empty;
- warm: the tool cache kept from the cold run (a self-hosted runner, or `actions/cache`);
- pip, cold and warm: `python -m venv` + `pip install` of the same source, as the action did
  before, with an empty and then a kept pip cache.

Then the whole overhead: the cold install plus the run step (mlops_ci/action_inputs.py) on the
example project with `repro: false` (so no stage runs), beside `mlops-ci run --no-repro` run
directly with an installed mlops-ci. Targets: cold ≤ 10 s, warm ≤ 3 s, overhead ≤ 15 s cold.
Downloads dominate the cold figures: they measure this machine's link to PyPI as much as the
action. Run with `python benchmarks/action_overhead.py` (about two minutes, mostly pip).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALL = ROOT / "mlops_ci" / "action_install.py"
RUN_STEP = ROOT / "mlops_ci" / "action_inputs.py"
PHASES = re.compile(r"in [0-9.]+ s((?:, [a-zA-Z ]+ [0-9.]+ s)*)")
TARGETS = {"cold": 10.0, "warm": 3.0, "overhead": 15.0}


def base_env() -> dict[str, str]:
    """This environment without uv (nor this venv's bin) on PATH, outside GitHub Actions."""
    ours = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    env["PATH"] = os.pathsep.join(d for d in env.get("PATH", "").split(os.pathsep)
                                  if d != ours and not Path(d, "uv").exists())
    env["DVC_NO_ANALYTICS"] = "true"
    env.pop("VIRTUAL_ENV", None)
    return env


def action_source(folder: Path) -> Path:
    """A copy of what the action checks out: action.yml and the source it installs."""
    folder.mkdir(parents=True)
    for name in ("action.yml", "pyproject.toml", "README.md"):
        shutil.copyfile(ROOT / name, folder / name)
    for package in ("mlops_ci", "templates"):
        shutil.copytree(ROOT / package, folder / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def timed(cmd: list[str], *, env: dict[str, str], cwd: Path | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd[:3])} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
    return seconds, proc.stdout + proc.stderr


def action_install(source: Path, temp: Path, tool_cache: Path) -> tuple[float, str]:
    """The install step, timed; returns the seconds and the phases it logged."""
    shutil.rmtree(temp, ignore_errors=True)
    temp.mkdir(parents=True)
    env = {**base_env(), "RUNNER_TEMP": str(temp), "RUNNER_TOOL_CACHE": str(tool_cache),
           "MLOPS_CI_SOURCE": str(source)}
    seconds, output = timed([sys.executable, "-I", str(source / "mlops_ci" / INSTALL.name)],
                            env=env)
    found = PHASES.search(output)
    return seconds, (found[1].lstrip(", ") if found else output.strip()[-200:])


def pip_install(source: Path, venv: Path, cache: Path) -> float:
    shutil.rmtree(venv, ignore_errors=True)
    env = {**base_env(), "PIP_CACHE_DIR": str(cache)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], env=env, check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                    "--disable-pip-version-check", str(source)], env=env, check=True,
                   capture_output=True)
    return time.perf_counter() - start


def example_project(where: Path) -> Path:
    """The example, scaffolded and reproduced once (its stages with this venv's Python, which
    has scikit-learn), its results committed on main."""
    mlops_ci = [sys.executable, "-m", "mlops_ci"]
    who = {"NAME": "bench", "EMAIL": "bench@example.invalid"}
    env = {**os.environ, "DVC_NO_ANALYTICS": "true",
           **{f"GIT_{role}_{key}": value for role in ("AUTHOR", "COMMITTER")
              for key, value in who.items()}}
    project = where / "demo"
    for cmd in ([*mlops_ci, "init", str(project)], [*mlops_ci, "run"],
                ["git", "add", "--all"], ["git", "commit", "--quiet", "-m", "results"]):
        subprocess.run(cmd, cwd=project if project.exists() else where, env=env, check=True,
                       capture_output=True)
    return project


def main() -> None:
    width = 44
    print(f"{'what':<{width}}  {'seconds':>7}   phases (wall clock, this machine)", flush=True)

    def row(name: str, seconds: float, detail: str = "") -> float:
        print(f"{name:<{width}}  {seconds:>7.1f}   {detail}", flush=True)
        return seconds

    with tempfile.TemporaryDirectory(prefix="mlops-ci-bench-") as tmp:
        work = Path(tmp)
        source = action_source(work / "action")
        tool_cache, temp = work / "tool-cache", work / "runner-temp"

        cold = row("action install, cold (nothing cached)",
                   *action_install(source, temp, tool_cache))
        shutil.rmtree(tool_cache / "mlops-ci" / "uv-cache")
        shutil.rmtree(tool_cache / "mlops-ci" / "wheels")
        row("action install, cold uv cache, uv kept", *action_install(source, temp, tool_cache))
        warm = row("action install, warm (tool cache kept)",
                   *action_install(source, temp, tool_cache))
        pip_cold = row("pip install, cold (empty pip cache)",
                       pip_install(source, work / "pip-venv", work / "pip-cache"))
        pip_warm = row("pip install, warm (pip cache kept)",
                       pip_install(source, work / "pip-venv", work / "pip-cache"))

        installed = temp / "mlops-ci" / "bin" / "mlops-ci"
        project = example_project(work)
        row("mlops-ci run --no-repro, directly",
            timed([str(installed), "run", "--no-repro"], env=base_env(), cwd=project)[0])
        step_env = {**base_env(), "MLOPS_CI_EXECUTABLE": str(installed), "MLOPS_CI_REPRO": "false"}
        step = row("the action's run step, repro: false",
                   timed([sys.executable, "-I", str(RUN_STEP)], env=step_env, cwd=project)[0])
        overhead = row("action overhead, cold (install + run step)", cold + step)

        print()
        for name, value in (("cold", cold), ("warm", warm), ("overhead", overhead)):
            verdict = "met" if value <= TARGETS[name] else "missed"
            print(f"target {name} <= {TARGETS[name]:.0f} s: {verdict} ({value:.1f} s)")
        print(f"uv vs pip, cold: {pip_cold / cold:.1f}x faster; "
              f"warm: {pip_warm / warm:.1f}x faster", flush=True)
        print("(removing the temporary directory can take a while on a busy disk)", flush=True)


if __name__ == "__main__":
    main()
