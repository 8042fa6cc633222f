"""`make demo`: scaffold the example into a temporary directory and run mlops-ci on it twice.

1. `mlops-ci init` writes the project (one commit on main) and `mlops-ci run` reproduces it:
   every metric is new, the absolute gates apply, and the run passes.
2. The results are committed on main; a branch then lowers the regularisation parameter C,
   which degrades the model, and `mlops-ci run` compares it with main: the accuracy gate fails
   (exit code 1), which is what the demo sets out to show.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

MLOPS_CI = [sys.executable, "-m", "mlops_ci"]
IDENTITY = ["-c", "user.name=mlops-ci demo", "-c", "user.email=demo@example.invalid"]


def step(title: str) -> None:
    print(f"\n=== {title}", flush=True)


def sh(*cmd: str, cwd: Path, ok: tuple[int, ...] = (0,)) -> int:
    shown = ["mlops-ci", *cmd[3:]] if list(cmd[:3]) == MLOPS_CI else list(cmd)
    print("$ " + " ".join(shown), flush=True)
    code = subprocess.run(cmd, cwd=cwd, check=False).returncode
    if code not in ok:
        sys.exit(f"demo: `{' '.join(cmd)}` exited with {code}, expected {ok}")
    return code


def main() -> int:
    os.environ["DVC_NO_ANALYTICS"] = "true"
    workdir = Path(tempfile.mkdtemp(prefix="mlops-ci-demo-"))
    project = workdir / "demo"

    step("Scaffold the example project")
    sh(*MLOPS_CI, "init", str(project), cwd=workdir)

    step("First run, on the first commit: every metric is new")
    sh(*MLOPS_CI, "run", cwd=project)
    sh("git", *IDENTITY, "add", "--all", cwd=project)
    sh("git", *IDENTITY, "commit", "--quiet", "-m", "Record the first results", cwd=project)

    step("Second run, on a branch that lowers C from 1.0 to 0.01 (a weaker model)")
    sh("git", "checkout", "--quiet", "-b", "weaker-model", cwd=project)
    params = project / "params.yaml"
    params.write_text(re.sub(r"C: [0-9.]+", "C: 0.01", params.read_text()))
    sh("git", *IDENTITY, "commit", "--quiet", "-am", "Lower C to 0.01", cwd=project)
    code = sh(*MLOPS_CI, "run", cwd=project, ok=(1,))

    out = project / ".mlops"
    step("Done")
    print(f"The second run exited with {code}: the accuracy gate failed, as the demo intends.")
    print(f"Report:     {out / 'report.md'}")
    print(f"            {out / 'report.json'}")
    print(f"Model card: {out / 'model-card.md'}")
    print(f"Project:    {project}  (delete {workdir} when done)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
