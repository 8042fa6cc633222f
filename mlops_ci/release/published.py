"""A re-run for a tag whose release is already published: verify it, never rewrite it.

A bundle built again is not byte for byte the first one: ``report.json`` and the card carry the
time they were made, and an ECDSA signature is new each time. So a published release is
checked on what a re-run must agree with: the same asset names, and the same bytes for every
file taken from the repository (the model, metrics, params, ``dvc.lock``), by the sha256
GitHub reports for each asset (or, when it reports none, of the asset downloaded). A difference
is refused: publish the files as a new version.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.errors import InputError
from mlops_ci.release.publish import PublishResult

if TYPE_CHECKING:
    from mlops_ci.github.client import GitHubClient


def verify_published(
    client: GitHubClient,
    repo: str,
    release: Mapping[str, Any],
    *,
    names: Iterable[str],
    sources: Mapping[str, str],
) -> PublishResult:
    """Check the published *release* against the bundle's asset *names* and the sha256 of
    its repository files (*sources*, name → hex); an InputError naming what differs."""
    from mlops_ci.github.releases import asset_sha256, download_asset, list_assets
    from mlops_ci.release.bundle import sha256_file

    tag = str(release.get("tag_name"))
    assets = {str(a.get("name")): a for a in list_assets(client, repo, int(release["id"]))}
    problems = []
    missing = sorted(set(names) - set(assets))
    extra = sorted(set(assets) - set(names))
    if missing:
        problems.append(f"it lacks {', '.join(missing)}")
    if extra:
        problems.append(f"it has {', '.join(extra)} besides")
    with tempfile.TemporaryDirectory(prefix="mlops-ci-published-") as directory:
        for name, digest in sorted(sources.items()):
            asset = assets.get(name)
            if asset is None:
                continue
            published = asset_sha256(asset)
            if published is None:
                target = Path(directory) / name
                download_asset(client, repo, dict(asset), target, progress=False)
                published = sha256_file(target)
            if published != digest:
                problems.append(f"its {name} differs from the workspace's")
    if problems:
        raise InputError(
            f"The release {tag} is already published, and {'; '.join(problems)}. A published "
            "release is never rewritten (an immutable one cannot be): tag the commit with a new "
            "version and release that."
        )
    return PublishResult(
        release_id=int(release["id"]), html_url=str(release.get("html_url", "")),
        skipped=tuple(sorted(assets)), already_published=True,
    )
