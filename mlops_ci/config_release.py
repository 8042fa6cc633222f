"""`release:` in mlops.yaml: what `mlops-ci release` requires, where it records, how it signs.

The schema has checked the shapes; this module resolves them and refuses, with the line and
the fix, what the schema cannot say well: a private key pasted into mlops.yaml (the file is in
git for everyone who can read the repository: the key belongs in a secret, and `signing.key`
names the environment variable that holds it), and a `signing.key` that is not a variable name.
A key pasted here is never repeated in a message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_ci.config_yaml import Positions
from mlops_ci.config_yaml import at as _at
from mlops_ci.errors import ConfigError

DEFAULT_KEY_ENV = "MLOPS_CI_SIGNING_KEY"
DEFAULT_HISTORY = 10
# What a shell and GitHub Actions accept as an environment variable's name.
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")


@dataclass(frozen=True)
class SigningConfig:
    key_env: str = DEFAULT_KEY_ENV  # the environment variable holding the PEM private key
    public_key: str | None = None  # a PEM public key in the repository, to check the signature
    password_env: str | None = None  # the environment variable holding the key's password


@dataclass(frozen=True)
class ReleaseConfig:
    require_approvals: int = 0
    environment: str | None = None  # a GitHub environment to record each release in
    signing: SigningConfig | None = None  # None: the repository does not sign its releases
    history: int = DEFAULT_HISTORY  # releases in the notes' chart of the primary metric


def release_config(
    section: Mapping[str, Any] | None, positions: Positions, name: str
) -> ReleaseConfig:
    """`release:` as the schema checked it, resolved; ConfigError naming the line and the fix."""
    if not section:
        return ReleaseConfig()
    signing = section.get("signing", None)
    return ReleaseConfig(
        require_approvals=int(section.get("require_approvals", 0)),
        environment=section.get("environment"),
        signing=_signing(signing, positions, name) if "signing" in section else None,
        history=int(section.get("history", DEFAULT_HISTORY)),
    )


def _signing(section: Mapping[str, Any] | None, positions: Positions, name: str) -> SigningConfig:
    section = section or {}  # `signing:` alone: sign, with the key in MLOPS_CI_SIGNING_KEY
    key_env = _env_name(section.get("key", DEFAULT_KEY_ENV), "key", positions, name)
    password = section.get("password")
    password_env = (
        _env_name(password, "password", positions, name) if password is not None else None
    )
    public_key = section.get("public_key")
    if public_key is not None:
        where = _at(name, positions, ("release", "signing", "public_key"))
        if "-----BEGIN" in public_key:
            raise ConfigError(
                f"{where}: release.signing.public_key holds a PEM key; it takes the path of "
                "the public key file in the repository (e.g. keys/release.pub). Commit the key "
                "there and write its path."
            )
        if Path(public_key).is_absolute() or ".." in Path(public_key).parts:
            raise ConfigError(
                f"{where}: release.signing.public_key must be a path relative to the "
                f"repository root, not {public_key!r}."
            )
    return SigningConfig(key_env=key_env, public_key=public_key, password_env=password_env)


def _env_name(value: str, key: str, positions: Positions, name: str) -> str:
    where = _at(name, positions, ("release", "signing", key))
    what = "private key" if key == "key" else "key's password"
    if "-----BEGIN" in value or "PRIVATE KEY" in value:
        raise ConfigError(
            f"{where}: release.signing.{key} holds a key itself. A private key must never be "
            "in mlops.yaml, which everyone who can read the repository sees: remove it from the "
            "file (and its history), make a new key pair, store the private key as a secret "
            "(e.g. MLOPS_CI_SIGNING_KEY), and write that secret's environment variable name "
            f"here: `{key}: MLOPS_CI_SIGNING_KEY`."
        )
    if not _ENV_NAME.fullmatch(value):
        raise ConfigError(
            f"{where}: release.signing.{key} names the environment variable that holds the "
            f"{what} (letters, digits and '_', not starting with a digit), e.g. "
            "MLOPS_CI_SIGNING_KEY; set that variable from a secret in the workflow's `env:`."
        )
    return value
