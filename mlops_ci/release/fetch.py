"""Fetch a release from GitHub: download it beside its destination, verify it, move it in.

The order is pip's ``--require-hashes`` order, refusal before installation:

1. the destination is checked (``install.check_destination``): a file, a symlink or a
   directory that is not a previous fetch is refused before a byte is downloaded;
2. the GitHub release of the tag is found (a draft is refused: it is not released) and its
   assets are checked: flat names a bundle can hold, every upload complete, a ``SHA256SUMS``;
3. every asset is downloaded into a new private directory beside the destination (through
   ``github.releases.download_asset``: streamed, bounded by the asset's size, the token sent
   to GitHub's API hosts only, a progress bar);
4. the directory is verified (:func:`verify_release_dir`): every file against ``SHA256SUMS``
   (nothing missing, nothing extra), and the signature ``model.sig`` with the public key when
   one is given. A release that carries a signature, or whose repository says it signs, is
   refused without a key: an unchecked signature is no signature;
5. the evidence's version and model, when it names them, must be the ones asked for (a
   signed older release, or another model's, re-uploaded under this tag is refused);
6. only then the verified set is moved into place at once (``install.install``).

On any failure the download directory is removed and the destination is left as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops_ci.errors import InputError
from mlops_ci.release.bundle import SUMS_NAME, name_problem, verify_directory
from mlops_ci.release.install import check_destination, install, make_staging, remove_tree
from mlops_ci.release.resolve import Resolved
from mlops_ci.release.sign import EVIDENCE_NAME, SIGNATURE_NAME, read_evidence, verify_bundle
from mlops_ci.security import log_safe

if TYPE_CHECKING:
    from mlops_ci.github.client import GitHubClient

MAX_ASSETS = 200  # a bundle is a handful of files; a release with more is not one of ours
KEY_HINT = (
    "pass the release's public key with --public-key FILE (or set release.signing.public_key "
    "in the repository's mlops.yaml)"
)


@dataclass(frozen=True)
class Fetched:
    """What was fetched and where it went."""

    resolved: Resolved
    tag: str  # the tag whose GitHub release was downloaded
    release_url: str
    dest: Path
    files: tuple[str, ...]
    signed: bool  # True: the signature was verified with the public key
    evidence: dict[str, Any] | None


def verify_release_dir(
    directory: Path, *, public_key: Path | None, signing_required: bool = False
) -> tuple[dict[str, str], bool]:
    """Verify a release's files in *directory*; the verified digests, and whether signed.

    With *public_key*: ``SHA256SUMS`` and the signature (``sign.verify_bundle``). Without: a
    directory that holds ``model.sig``, or whose repository signs (*signing_required*), is
    refused, saying how to pass the key; any other is checked against ``SHA256SUMS`` alone,
    strictly (a file missing, changed or extra is refused).
    """
    if public_key is not None:
        _check_key_file(public_key)
        return verify_bundle(directory, public_key=public_key), True
    signature = directory / SIGNATURE_NAME
    if signature.is_symlink() or signature.exists():
        raise InputError(
            f"{directory} carries a signature ({SIGNATURE_NAME}) and no public key was given to "
            f"check it, so it is not trusted; {KEY_HINT}."
        )
    if signing_required:
        raise InputError(
            "This repository signs its releases (release.signing in mlops.yaml), and no public "
            f"key was given to check the signature; {KEY_HINT}."
        )
    return verify_directory(directory), False


def _check_key_file(path: Path) -> None:
    if not path.is_file():
        raise InputError(
            f"The public key {path} is not a file; give the PEM public key the releases are "
            "signed with (openssl ec -in key.pem -pubout -out key.pub)."
        )


def find_release_for(
    client: GitHubClient, repo: str, tags: Sequence[str]
) -> tuple[str, dict[str, Any]]:
    """The GitHub release of the first of *tags* that has one, and that tag."""
    from mlops_ci.github.releases import find_release

    for tag in tags:
        release = find_release(client, repo, tag)
        if release is not None:
            return tag, release
    shown = " or ".join(repr(tag) for tag in tags) or "(no tag)"
    raise InputError(
        f"{repo} has no GitHub release for the tag {shown}; the tag exists but was not "
        "released (run the release workflow, `mlops-ci release`, on it)."
    )


def check_assets(release: dict[str, Any], tag: str, repo: str) -> list[dict[str, Any]]:
    """The release's assets, once each can be part of a bundle; InputError naming the first
    that cannot (the release is untrusted until it verifies)."""
    where = f"The release {tag!r} of {repo}"
    if release.get("draft"):
        raise InputError(
            f"{where} is a draft: it is not published yet (an interrupted release run leaves "
            "one; run the release again to finish it)."
        )
    assets = release.get("assets")
    if not isinstance(assets, list) or not assets:
        raise InputError(f"{where} has no assets; it is not an mlops-ci release.")
    if len(assets) > MAX_ASSETS:
        raise InputError(f"{where} has {len(assets)} assets, more than a bundle ever holds.")
    names: set[str] = set()
    for asset in assets:
        name = asset.get("name") if isinstance(asset, dict) else None
        if not isinstance(name, str):
            raise InputError(f"{where} lists an asset without a name.")
        problem = name_problem(name)
        if problem:
            raise InputError(f"{where} has an asset named {log_safe(name)!r}, which {problem}.")
        if name in names:
            raise InputError(f"{where} has two assets named {name!r}.")
        names.add(name)
        if asset.get("state", "uploaded") != "uploaded":
            raise InputError(
                f"{where}: the asset {name!r} is not completely uploaded "
                f"(state {log_safe(str(asset.get('state')))!r}); run the release again."
            )
        if not isinstance(asset.get("size"), int) or asset["size"] < 0:
            raise InputError(f"{where}: the asset {name!r} has no size.")
    if SUMS_NAME not in names:
        raise InputError(
            f"{where} has no {SUMS_NAME} asset, so its files cannot be verified; it is not an "
            "mlops-ci release."
        )
    return assets


def _check_evidence(directory: Path, resolved: Resolved, tag: str) -> dict[str, Any] | None:
    """The (verified) evidence; refused when it names another version than the one asked for."""
    if not (directory / EVIDENCE_NAME).exists():
        return None
    evidence = read_evidence(directory)
    named, model = evidence.get("version"), evidence.get("artifact")
    if isinstance(named, str) and named != resolved.version:
        raise InputError(
            f"The release {tag!r} holds the files of version {log_safe(named)!r}, not "
            f"{resolved.version} (its evidence.json says so): it was assembled from another "
            "release, and is refused."
        )
    if resolved.artifact and isinstance(model, str) and model and model != resolved.artifact:
        raise InputError(
            f"The release {tag!r} holds the files of the model {log_safe(model)!r}, not "
            f"{resolved.artifact!r} (its evidence.json says so), and is refused."
        )
    return evidence


def fetch_release(
    client: GitHubClient,
    repo: str,
    resolved: Resolved,
    dest: Path,
    *,
    public_key: Path | None,
    signing_required: bool = False,
    progress: bool = True,
) -> Fetched:
    """Download the release *resolved* names from *repo* and install it at *dest* (see module)."""
    from mlops_ci.github.releases import download_asset

    dest = dest.absolute()
    check_destination(dest)
    if public_key is not None:
        _check_key_file(public_key)
    tag, release = find_release_for(client, repo, resolved.tags)
    assets = check_assets(release, tag, repo)
    staging = make_staging(dest)
    try:
        for asset in assets:
            download_asset(client, repo, asset, staging / asset["name"], progress=progress)
        _, signed = verify_release_dir(
            staging, public_key=public_key, signing_required=signing_required
        )
        evidence = _check_evidence(staging, resolved, tag)
        files = tuple(sorted(asset["name"] for asset in assets))
        install(staging, dest)
    finally:
        remove_tree(staging)
    url = release.get("html_url")
    return Fetched(
        resolved=resolved,
        tag=tag,
        release_url=url if isinstance(url, str) else "",
        dest=dest,
        files=files,
        signed=signed,
        evidence=evidence,
    )
