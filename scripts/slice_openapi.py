"""Cut the GitHub REST operations mlops-ci uses out of GitHub's official OpenAPI description.

The local GitHub API the tests run against (``tests/github_fake``) rejects every request the
description would reject. The whole description is 13 MB; this script keeps only our operations
and the components they reference, drops prose and examples, and writes
``tests/fixtures/github-openapi.json`` (committed, so the tests need no network).

It installs the npm package ``@octokit/openapi`` (GitHub's description, republished with each
GitHub change) into a temporary directory, so it needs ``npm``::

    python scripts/slice_openapi.py                 # the pinned version
    python scripts/slice_openapi.py --version 23.1.0

It also checks that every operation exists, with the same path, in the newest GitHub Enterprise
Server description of the package: the client joins the same paths onto ``/api/v3``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PACKAGE = "@octokit/openapi"
# The version the committed slice was cut from; bump it deliberately and re-run the tests.
PINNED_VERSION = "23.0.2"

# (method, path) exactly as the description spells the path templates.
OPERATIONS: list[tuple[str, str]] = [
    ("get", "/user"),
    ("get", "/repos/{owner}/{repo}"),
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}"),
    ("get", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("post", "/repos/{owner}/{repo}/issues/{issue_number}/comments"),
    ("get", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("patch", "/repos/{owner}/{repo}/issues/comments/{comment_id}"),
    ("post", "/repos/{owner}/{repo}/statuses/{sha}"),
    ("post", "/repos/{owner}/{repo}/check-runs"),
    ("get", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls"),
    # the reviews of a release's merged pull request (release.require_approvals)
    ("get", "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"),
    ("get", "/repos/{owner}/{repo}/actions/runs/{run_id}"),
    # releases and their assets (the upload is served by uploads.github.com, see its servers)
    ("get", "/repos/{owner}/{repo}/releases"),
    ("post", "/repos/{owner}/{repo}/releases"),
    ("get", "/repos/{owner}/{repo}/releases/latest"),
    ("get", "/repos/{owner}/{repo}/releases/tags/{tag}"),
    ("get", "/repos/{owner}/{repo}/releases/{release_id}"),
    ("patch", "/repos/{owner}/{repo}/releases/{release_id}"),
    ("delete", "/repos/{owner}/{repo}/releases/{release_id}"),
    ("get", "/repos/{owner}/{repo}/releases/{release_id}/assets"),
    ("post", "/repos/{owner}/{repo}/releases/{release_id}/assets"),
    ("get", "/repos/{owner}/{repo}/releases/assets/{asset_id}"),
    ("delete", "/repos/{owner}/{repo}/releases/assets/{asset_id}"),
    # deployments, so the Environments page shows which version is live
    ("get", "/repos/{owner}/{repo}/deployments"),
    ("post", "/repos/{owner}/{repo}/deployments"),
    ("get", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"),
    ("post", "/repos/{owner}/{repo}/deployments/{deployment_id}/statuses"),
    # the deploy side: tags read through the API (mlops-ci fetch --repo)
    ("get", "/repos/{owner}/{repo}/git/matching-refs/{ref}"),
    ("get", "/repos/{owner}/{repo}/git/tags/{tag_sha}"),
    ("get", "/repos/{owner}/{repo}/git/commits/{commit_sha}"),
]

DEFAULT_OUTPUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "github-openapi.json"

# Keys that carry prose or examples, never validation rules.
_PROSE_KEYS = {"description", "summary", "title", "example", "examples", "externalDocs", "tags"}
# Under these keys the dictionary's keys are names chosen by GitHub (a property may be called
# "description"), so nothing below them is stripped by name.
_NAMED_CHILDREN = {"properties", "mapping"}


def install(version: str, into: Path) -> Path:
    """Install the package with npm (no scripts run) and return its ``generated`` directory."""
    subprocess.run(
        ["npm", "install", "--no-save", "--ignore-scripts", "--no-audit", "--no-fund",
         "--prefix", str(into), f"{PACKAGE}@{version}"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return into / "node_modules" / "@octokit" / "openapi" / "generated"


def strip(node: Any, *, names_level: bool = False) -> Any:
    """Drop prose, examples and vendor extensions; keep everything a validator reads."""
    if isinstance(node, list):
        return [strip(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if not names_level and (key in _PROSE_KEYS or key.startswith("x-")):
            continue
        out[key] = strip(value, names_level=not names_level and key in _NAMED_CHILDREN)
    return out


def refs_in(node: Any) -> set[str]:
    """Every ``$ref`` below ``node``."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ref = item.get("$ref")
            if isinstance(ref, str):
                found.add(ref)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def slice_description(full: dict[str, Any], version: str, ghes: str | None) -> dict[str, Any]:
    """Keep ``OPERATIONS`` and the components they need, transitively."""
    paths: dict[str, Any] = {}
    for method, path in OPERATIONS:
        item = full["paths"][path]
        kept = paths.setdefault(path, {})
        if "parameters" in item:
            kept["parameters"] = strip(item["parameters"])
        kept[method] = strip(item[method])

    components: dict[str, dict[str, Any]] = {}
    pending = refs_in(paths)
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        match = re.fullmatch(r"#/components/([^/]+)/([^/]+)", ref)
        if match is None:
            raise SystemExit(f"unexpected $ref form {ref!r}: extend slice_openapi.py")
        kind, name = match.groups()
        value = strip(full["components"][kind][name])
        components.setdefault(kind, {})[name] = value
        pending |= refs_in(value)

    return {
        "openapi": full["openapi"],
        "info": {
            "title": "GitHub REST API (the operations mlops-ci uses)",
            "version": full["info"]["version"],
            "x-source": f"npm {PACKAGE}@{version}, generated/api.github.com.json",
            "x-sliced-by": "scripts/slice_openapi.py",
            "x-operations-also-in-ghes": ghes,
        },
        "servers": full.get("servers", []),
        "paths": paths,
        "components": {
            kind: dict(sorted(items.items())) for kind, items in sorted(components.items())
        },
    }


def newest_ghes(generated: Path) -> Path | None:
    """The newest ``ghes-X.Y.json`` (not dereferenced) in the package, if any."""
    versions = []
    for candidate in generated.glob("ghes-*.json"):
        match = re.fullmatch(r"ghes-(\d+)\.(\d+)\.json", candidate.name)
        if match:
            versions.append((int(match[1]), int(match[2]), candidate))
    return max(versions)[2] if versions else None


def check_ghes(ghes_file: Path) -> str:
    """Fail unless every operation is described for GitHub Enterprise Server too."""
    ghes = json.loads(ghes_file.read_text(encoding="utf-8"))
    missing = [f"{m.upper()} {p}" for m, p in OPERATIONS if m not in ghes["paths"].get(p, {})]
    if missing:
        raise SystemExit(f"{ghes_file.name} does not describe: {', '.join(missing)}")
    return ghes_file.name.removesuffix(".json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=PINNED_VERSION, help=f"{PACKAGE} version")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="octokit-openapi-") as tmp:
        generated = install(args.version, Path(tmp))
        full = json.loads((generated / "api.github.com.json").read_text(encoding="utf-8"))
        ghes_file = newest_ghes(generated)
        ghes = check_ghes(ghes_file) if ghes_file else None
    sliced = slice_description(full, args.version, ghes)

    args.output.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(sliced, indent=1, sort_keys=False) + "\n"
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output.name}: {len(OPERATIONS)} operations, "
          f"{sum(len(v) for v in sliced['components'].values())} components, "
          f"{len(text) // 1024} KiB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
