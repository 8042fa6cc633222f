"""A release's files, collected into a staging directory, checksummed and (when configured) signed.

The bundle (docs/releases.md): every model file, ``model-card.md``, ``report.json``, the metrics
files, the params files, the images of the declared plots (which the bundle's card shows by
their asset names), ``dvc.lock``, ``evidence.json``, ``SHA256SUMS`` and, when
``release.signing`` is set, ``model.sig``. Asset names are flat: a file in a subdirectory keeps
its base name unless another file of the bundle has it, then its path with ``/`` written ``-``.
``evidence.json`` is the Report's evidence (``sign.evidence_from_report``) plus what a
deployer needs to load the model safely: each model file's format and, for a skops file, the
types it may load (``models.skops_types``); and the artifact, version and tag released.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_ci.config import Config
from mlops_ci.config_release import SigningConfig
from mlops_ci.errors import ConfigError, InputError
from mlops_ci.lockfile import LOCK_FILE
from mlops_ci.report import Report
from mlops_ci.security import resolve_inside

CARD_NAME = "model-card.md"
REPORT_NAME = "report.json"


@dataclass(frozen=True)
class Bundle:
    directory: Path
    files: dict[str, Path]  # every file of the bundle by asset name, SHA256SUMS and model.sig too
    digests: dict[str, str]  # sha256 by name, as SHA256SUMS lists them
    evidence: dict[str, Any]
    signed: bool
    model_names: tuple[str, ...]  # the asset names of the model files
    sources: tuple[str, ...]  # the asset names of the files taken from the repository as they are


def source_files(root: Path, config: Config, report: Report) -> dict[str, Path]:
    """The repository's files of the bundle, by asset name: model, metrics, params, the
    images of the declared plots, dvc.lock."""
    return bundle_sources(root, config, report)[0]


def bundle_sources(
    root: Path, config: Config, report: Report
) -> tuple[dict[str, Path], dict[str, str]]:
    """The repository's files of the bundle by asset name, and each plot image's asset name
    by its path in the repository (for the bundle's card, which links the asset)."""
    named: dict[str, Path] = {}

    def add(relative: str, what: str) -> str:
        path = resolve_inside(root, relative, what=what)
        if not path.is_file():
            raise InputError(f"The {what} {relative} is not a file in the workspace; run the "
                             "pipeline (or `dvc pull`) before releasing.")
        name = os.path.basename(relative)
        if name in named or name in _RESERVED:
            name = relative.replace("/", "-")
        if name in named or name in _RESERVED:
            raise InputError(
                f"Two files of the release would both be the asset {name!r} ({relative} and "
                f"{named.get(name, name)}); rename one of them."
            )
        named[name] = path
        return name

    add(config.model.path, "model file")
    for metrics_file in sorted({m.file for m in report.metrics if m.change != "removed"}):
        add(metrics_file, "metrics file")
    for params_file in sorted(params_files(root, report)):
        add(params_file, "params file")
    images = {path: add(path, "plot image") for path in plot_images(report)}
    add(LOCK_FILE, "lock file")
    return named, images


def plot_images(report: Report) -> list[str]:
    """The repository paths of the image plots the card embeds (read in the workspace, with
    a plain path: render_plots embeds no other), sorted: a path's asset name must not depend
    on the order DVC lists the plots, or a re-run would name the assets otherwise."""
    return sorted({
        plot.path for plot in report.plots
        if plot.kind == "image" and plot.path and plot.head_md5
    })


def bundle_card_report(report: Report, images: dict[str, str]) -> Report:
    """*report* with each image plot's path replaced by its asset name (None when it is not in
    the bundle), so that the bundle's card links the files beside it."""
    plots = [
        dataclasses.replace(plot, path=images.get(plot.path or "")) if plot.kind == "image"
        else plot
        for plot in report.plots
    ]
    return dataclasses.replace(report, plots=plots)


def params_files(root: Path, report: Report) -> set[str]:
    """The params files the report read: `file:name` outside params.yaml, `name` in it."""
    from mlops_ci.compare import DEFAULT_PARAMS_FILE

    files = set()
    for key in report.params_head:
        file, colon, _ = key.partition(":")
        files.add(file if colon and (root / file).is_file() else DEFAULT_PARAMS_FILE)
    return files


_RESERVED = frozenset({CARD_NAME, REPORT_NAME, "evidence.json", "SHA256SUMS", "model.sig"})


def model_evidence(path: Path, name: str) -> dict[str, Any]:
    """One model file's entry of evidence.json: its format and the types it may load."""
    from mlops_ci.models import detect_format, read_model_bytes, skops_types

    data = read_model_bytes(path)
    found = detect_format(path, data)
    return {
        "file": name,
        "format": found,
        "trusted_types": skops_types(path, data) if found == "skops" else [],
    }


def assemble(
    root: Path,
    config: Config,
    report: Report,
    directory: Path,
    *,
    artifact: str,
    version: str,
    tag: str,
    env: Mapping[str, str],
) -> Bundle:
    """Collect, checksum and (with ``release.signing``) sign the bundle in the empty *directory*."""
    from mlops_ci.card import render_card
    from mlops_ci.release.bundle import SUMS_NAME, collect_bundle, sha256_file
    from mlops_ci.release.sign import EVIDENCE_NAME, evidence_from_report, evidence_text

    files, images = bundle_sources(root, config, report)
    model_name = next(iter(files))  # added first
    evidence = evidence_from_report(report)
    evidence.update(
        models=[model_evidence(files[model_name], model_name)],
        artifact=artifact,
        version=version,
        tag=tag,
    )
    texts = {
        # the images are assets beside the card: linked by their asset names
        CARD_NAME: render_card(bundle_card_report(report, images), config.user_template_dir,
                               images_from=""),
        REPORT_NAME: report.to_json(),
        EVIDENCE_NAME: evidence_text(evidence),
    }
    digests = collect_bundle(files, directory, texts=texts)
    signing = config.release.signing
    if signing is not None:
        sign(directory, signing, root=root, env=env)
    names = sorted(os.listdir(directory))
    digests = {**digests, SUMS_NAME: sha256_file(directory / SUMS_NAME)}
    return Bundle(
        directory=directory,
        files={name: directory / name for name in names},
        digests=digests,
        evidence=evidence,
        signed=signing is not None,
        model_names=(model_name,),
        sources=tuple(files),
    )


def sign(directory: Path, signing: SigningConfig, *, root: Path, env: Mapping[str, str]) -> None:
    """Sign the bundle with the key the configured variable holds; check it with the public key."""
    from mlops_ci.release.sign import sign_bundle, verify_bundle

    pem = env.get(signing.key_env, "")
    if not pem.strip():
        raise ConfigError(
            f"release.signing is set in mlops.yaml, but the environment variable "
            f"{signing.key_env} that should hold the signing key is not set. Set it from a "
            f"secret in the workflow (`env: {{{signing.key_env}: "
            f"${{{{ secrets.{signing.key_env} }}}}}}`), or remove release.signing."
        )
    password = None
    if signing.password_env is not None:
        password = env.get(signing.password_env)
        if password is None:
            raise ConfigError(
                f"release.signing.password names the environment variable "
                f"{signing.password_env}, which is not set; set it from a secret."
            )
    from mlops_ci.github.tokens import mask_secret

    mask_secret(pem)  # no log record shows it, whatever the library says
    sign_bundle(directory, private_key_pem=pem, password=password)
    if signing.public_key is not None:
        public = resolve_inside(root, signing.public_key, what="release.signing.public_key",
                                error=ConfigError)
        if not public.is_file():
            raise ConfigError(
                f"release.signing.public_key names {signing.public_key}, which is not a file in "
                "the repository; commit the public key there."
            )
        try:
            verify_bundle(directory, public_key=public)
        except InputError as exc:
            raise ConfigError(
                f"The new signature does not verify with release.signing.public_key "
                f"({signing.public_key}): the secret {signing.key_env} holds another key than "
                f"the one deployers check with. Put the matching pair in place. ({exc})"
            ) from None
