"""A re-run for a tag whose release is already published: verify it, never rewrite it.

A bundle built again is not byte for byte the first one: ``report.json`` and the card carry the
time they were made, and an ECDSA signature is new each time. So a published release is
checked on what a re-run must agree with: the same asset names, and the same bytes for every
file taken from the repository (the model, metrics, params, ``dvc.lock``), by the sha256
GitHub reports for each asset (or, when it reports none, of the asset downloaded). A difference
is refused: publish the files as a new version.

A repository that signs its releases (``release.signing``) gets more: every asset is
downloaded, checked against the published ``SHA256SUMS`` (``bundle.verify_directory``: no file
missing, added or changed), the signature verified with ``release.signing.public_key`` when it
is set (``sign.verify_bundle``), and ``SHA256SUMS``'s entries for the repository files compared
with the workspace's. Someone who can edit releases but does not hold the key cannot slip a
forged ``evidence.json`` or ``model.sig`` past a re-run.
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
    signed: bool = False,
    public_key: Path | None = None,
) -> PublishResult:
    """Check the published *release* against the bundle's asset *names* and the sha256 of
    its repository files (*sources*, name → hex); with *signed*, the whole downloaded bundle
    too (module doc); an InputError naming what differs."""
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
        if signed and not problems:
            problems.extend(_verify_signed(client, repo, assets, sources, Path(directory),
                                           public_key))
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


def _verify_signed(client: GitHubClient, repo: str, assets: Mapping[str, Any],
                   sources: Mapping[str, str], directory: Path,
                   public_key: Path | None) -> list[str]:
    """Download every asset into *directory*/bundle and verify it; the problems, in words."""
    from mlops_ci.github.releases import download_asset
    from mlops_ci.release.bundle import SUMS_NAME, name_problem, verify_directory
    from mlops_ci.release.sign import SIGNATURE_NAME, verify_bundle

    bundle = directory / "bundle"
    bundle.mkdir()
    for name, asset in sorted(assets.items()):
        if name_problem(name):  # a name that is not a plain file name is never written
            return [f"its asset {name!r} {name_problem(name)}"]
        download_asset(client, repo, dict(asset), bundle / name, progress=False)
    try:
        if public_key is not None:
            digests = verify_bundle(bundle, public_key=public_key)
        else:
            digests = verify_directory(bundle, ignore=[SIGNATURE_NAME])
    except InputError as exc:
        return [f"its files do not verify ({exc})"]
    return [f"its {SUMS_NAME} records another {name} than the workspace's"
            for name, digest in sorted(sources.items()) if digests.get(name) != digest]
