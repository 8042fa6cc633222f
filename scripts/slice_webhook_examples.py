"""Copy a few of GitHub's real example webhook payloads into tests/fixtures/events/.

The payloads come from the npm package ``@octokit/webhooks-examples`` (MIT), which collects the
examples GitHub documents for each webhook event. The tests read these files instead of
hand-written payloads, so that the runner context is tested against what GitHub really sends.

Usage:  python scripts/slice_webhook_examples.py [--version 7.6.1 | latest] [--out DIR]

Needs ``npm``. The package is installed into a temporary directory that is removed afterwards;
the version installed is recorded in ``_source.json`` beside the fixtures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PACKAGE = "@octokit/webhooks-examples"
# Pinned so that re-running the script reproduces the committed files; pass --version latest
# to refresh them.
DEFAULT_VERSION = "7.6.1"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "events"
MANIFEST = "_source.json"

Payload = dict[str, Any]


@dataclass(frozen=True)
class Pick:
    """One fixture: which event's examples to look in and which example to take."""

    fixture: str
    event: str
    describe: str
    matches: Callable[[Payload], bool]
    # Actions delivers some events with another event's webhook payload; where the package
    # has no examples for `event`, take them from this one.
    fallback_event: str | None = None


def _is_fork_pr(p: Payload) -> bool:
    pr = p.get("pull_request") or {}
    head_repo = (pr.get("head") or {}).get("repo") or {}
    base_repo = (pr.get("base") or {}).get("repo") or {}
    return head_repo.get("full_name") != base_repo.get("full_name")


PICKS = [
    Pick("pull_request.opened", "pull_request", "action == opened",
         lambda p: p.get("action") == "opened"),
    Pick("pull_request.synchronize", "pull_request", "action == synchronize",
         lambda p: p.get("action") == "synchronize"),
    # Optional: written only when the package has one. The tests derive a fork variant by
    # editing head.repo when it does not.
    Pick("pull_request.fork", "pull_request", "head.repo differs from base.repo", _is_fork_pr),
    # pull_request_target runs carry the pull_request webhook payload (GitHub's docs say so);
    # "reopened" is one of its default activity types and differs from the fixture above.
    Pick("pull_request_target.reopened", "pull_request_target", "action == reopened",
         lambda p: p.get("action") == "reopened", fallback_event="pull_request"),
    Pick("push.branch", "push", "ref starts with refs/heads/",
         lambda p: str(p.get("ref", "")).startswith("refs/heads/")),
    Pick("push.tag", "push", "ref starts with refs/tags/",
         lambda p: str(p.get("ref", "")).startswith("refs/tags/")),
    Pick("workflow_run.completed", "workflow_run",
         "action == completed, run completed, with pull_requests",
         lambda p: p.get("action") == "completed"
         and p["workflow_run"].get("status") == "completed"
         and bool(p["workflow_run"].get("pull_requests"))),
    # A run triggered from a fork lists no pull_requests: the fork two-workflow case.
    Pick("workflow_run.completed-no-pr", "workflow_run",
         "action == completed, run completed, no pull_requests",
         lambda p: p.get("action") == "completed"
         and p["workflow_run"].get("status") == "completed"
         and not p["workflow_run"].get("pull_requests")),
    Pick("workflow_dispatch", "workflow_dispatch", "first example", lambda p: True),
]
OPTIONAL = {"pull_request.fork"}


def install(version: str, into: Path) -> Path:
    """Install the package with npm into *into*; return the package's directory."""
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm is not on PATH; install Node.js (it ships npm) and run this again.")
    cmd = [npm, "install", "--prefix", str(into), "--no-save", "--no-audit", "--no-fund",
           "--ignore-scripts", "--loglevel=error", f"{PACKAGE}@{version}"]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({result.returncode}):\n{result.stderr[-2000:]}")
    return into / "node_modules" / PACKAGE


def select(index: list[dict[str, Any]]) -> list[tuple[Pick, str, int, Payload]]:
    """Apply PICKS to the package's index; return (pick, source event, example index, payload)."""
    examples = {entry["name"]: entry["examples"] for entry in index}
    chosen = []
    for pick in PICKS:
        source = pick.event
        if source not in examples and pick.fallback_event is not None:
            source = pick.fallback_event
        found = next(
            ((i, p) for i, p in enumerate(examples.get(source, [])) if pick.matches(p)), None
        )
        if found is None:
            if pick.fixture in OPTIONAL:
                print(f"skip {pick.fixture}: no {source} example where {pick.describe}")
                continue
            sys.exit(f"{PACKAGE} has no {source} example where {pick.describe}.")
        chosen.append((pick, source, found[0], found[1]))
    return chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=DEFAULT_VERSION,
                        help=f"version of {PACKAGE} to install (default {DEFAULT_VERSION})")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="fixture directory")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="webhooks-examples-") as tmp:
        package_dir = install(args.version, Path(tmp))
        meta = json.loads((package_dir / "package.json").read_text(encoding="utf-8"))
        index = json.loads((package_dir / "api.github.com" / "index.json").read_text("utf-8"))
    chosen = select(index)

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    # The directory holds only what this script writes, so stale picks are removed.
    for old in out.glob("*.json"):
        old.unlink()
    manifest: dict[str, Any] = {
        "package": PACKAGE,
        "version": meta["version"],
        "license": meta.get("license"),
        "index": "api.github.com/index.json",
        "generated_by": "scripts/slice_webhook_examples.py",
        "fixtures": {},
    }
    for pick, source, i, payload in chosen:
        name = f"{pick.fixture}.json"
        (out / name).write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n",
                                encoding="utf-8")
        note = {"event": pick.event, "source_event": source, "example": i, "where": pick.describe}
        manifest["fixtures"][name] = note
        print(f"wrote {name}  <- {source} example {i} ({pick.describe})")
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"{PACKAGE}@{meta['version']}: {len(chosen)} fixtures in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
