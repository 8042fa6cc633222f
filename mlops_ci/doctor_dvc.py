"""The doctor's checks of DVC: each returns findings, none raises.

The project, dvc.yaml read as `run` reads it, the default remote configured and reachable (a
local directory: it exists and can be read; any other: DVC's own filesystem asked whether the
remote's path exists, within REMOTE_TIMEOUT), and the data DVC tracks: in the workspace, in
the cache, on the remote (DVC's ``data status``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from mlops_ci.doctor import Finding, Level
from mlops_ci.errors import ConfigError, MlopsError

T = TypeVar("T")
REMOTE_TIMEOUT = 15.0  # seconds the remote may take to answer
_SHOWN = 5  # paths named in one finding
_ADD_REMOTE = "`dvc remote add -d storage URL`, then `dvc push`"


@dataclass(frozen=True)
class _Remote:
    name: str
    url: str  # as configured, without credentials
    local: Path | None  # the directory, for a local remote


def check_dvc(root: Path) -> list[Finding]:
    from mlops_ci.dvc_yaml import DVC_YAML, read_dvc_yaml

    if not (root / ".dvc").is_dir():
        return [Finding(
            "dvc", "project", "blocker", f"{root} is not a DVC project (no .dvc directory).",
            fix="Run `dvc init` and commit the result, or scaffold one with `mlops-ci init DIR`.",
        )]
    findings: list[Finding] = []
    try:
        pipeline = read_dvc_yaml(root)
    except ConfigError as exc:
        pipeline = None
        findings.append(Finding(
            "dvc", DVC_YAML, "blocker", str(exc), file=DVC_YAML,
            fix="Correct dvc.yaml as the message says; `dvc repro` reads it too.",
        ))
    else:
        if pipeline is None:
            findings.append(Finding(
                "dvc", DVC_YAML, "blocker",
                "No dvc.yaml: `mlops-ci run` reproduces the pipeline it declares.",
                fix="Declare the stages (`dvc stage add`), or start from `mlops-ci init DIR`.",
            ))
        else:
            count = len(pipeline.stages)
            findings.append(Finding(
                "dvc", DVC_YAML, "ok", f"{count} stage{'' if count == 1 else 's'}", file=DVC_YAML
            ))
    try:
        remote, remote_findings = _check_remote(root)
    except Exception as exc:  # DVC could not read its own configuration
        return [*findings, Finding(
            "dvc", "remote", "blocker", f"DVC cannot read its configuration: {_short(exc)}",
            file=".dvc/config", fix="Correct .dvc/config (`dvc config --list` shows it).",
        )]
    findings += remote_findings
    reachable = remote is not None and not any(f.level == "blocker" for f in remote_findings)
    outputs = pipeline.outputs() if pipeline is not None else ()
    deps = tuple(d for stage in pipeline.stages for d in stage.deps) if pipeline else ()
    findings += _check_data(root, remote if reachable else None, outputs, deps,
                            remote_configured=remote is not None)
    return findings


def _check_remote(root: Path) -> tuple[_Remote | None, list[Finding]]:
    from dvc.repo import Repo

    from mlops_ci.github.tokens import without_credentials

    with Repo(str(root)) as repo:
        name = repo.config["core"].get("remote")
        names = sorted(repo.config.get("remote", {}))
        if not name:
            if names:
                return None, [Finding(
                    "dvc", "remote", "warning",
                    f"DVC remotes {', '.join(map(repr, names))} are configured, none as the "
                    "default, so `dvc pull` and `run --pull` read none.",
                    file=".dvc/config", key="core.remote",
                    fix=f"`dvc remote default {names[0]}` and commit .dvc/config.",
                )]
            return None, [Finding(
                "dvc", "remote", "warning",
                "No default DVC remote: a fresh clone (a CI job) can pull no data DVC caches.",
                file=".dvc/config", key="core.remote", fix=f"{_ADD_REMOTE}.",
            )]
        url = without_credentials(str(repo.config["remote"].get(name, {}).get("url", "")))
        dvc_remote = repo.cloud.get_remote(name)
        fs, path = dvc_remote.fs, dvc_remote.path
        local = Path(path) if getattr(fs, "protocol", None) == "local" else None
    remote = _Remote(str(name), url, local)
    where = f"DVC remote '{remote.name}' ({url})"
    if local is not None:
        return remote, [_local_remote(remote, where)]
    try:
        _connect(url)
        found = _within(REMOTE_TIMEOUT, lambda: bool(fs.exists(path)))
    except TimeoutError:
        return remote, [_unreachable(remote, where, f"no answer in {REMOTE_TIMEOUT:g} s")]
    except Exception as exc:
        return remote, [_unreachable(remote, where, _short(exc))]
    if not found:
        return remote, [Finding(
            "dvc", "remote", "warning",
            f"{where} answered, but nothing is at its path: it is unreachable from here, or "
            "nothing was pushed there yet.",
            file=".dvc/config", key=f"remote.{remote.name}.url",
            fix="Check the URL and the credentials (`dvc remote modify`), then `dvc push`.",
        )]
    return remote, [Finding("dvc", "remote", "ok", f"{where} is reachable")]


# Schemes whose URL names the server itself: a refused connection is told apart from an empty
# remote (an HTTP filesystem answers "not found" for both).
_PORTS = {"http": 80, "https": 443, "webdav": 80, "webdavs": 443, "ssh": 22, "sftp": 22}


def _connect(url: str) -> None:
    """Open and close a TCP connection to the remote's server, for the schemes in _PORTS."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    default = _PORTS.get(parts.scheme.lower())
    if default is None or not parts.hostname:
        return
    with socket.create_connection((parts.hostname, parts.port or default), REMOTE_TIMEOUT):
        pass


def _local_remote(remote: _Remote, where: str) -> Finding:
    assert remote.local is not None
    key = f"remote.{remote.name}.url"
    modify = f"`dvc remote modify {remote.name} url DIR`"
    if not remote.local.exists():
        return Finding(
            "dvc", "remote", "blocker", f"{where}: the directory {remote.local} does not exist.",
            file=".dvc/config", key=key,
            fix=f"Create it and `dvc push`, or point the remote at the right one ({modify}).",
        )
    if not remote.local.is_dir() or not os.access(remote.local, os.R_OK | os.X_OK):
        return Finding(
            "dvc", "remote", "blocker", f"{where}: {remote.local} is not a directory this user "
            "can read.", file=".dvc/config", key=key,
            fix=f"Fix its permissions, or point the remote at a readable directory ({modify}).",
        )
    return Finding("dvc", "remote", "ok", f"{where}: the directory exists and can be read")


def _unreachable(remote: _Remote, where: str, why: str) -> Finding:
    return Finding(
        "dvc", "remote", "blocker", f"{where} cannot be reached: {why}.",
        file=".dvc/config", key=f"remote.{remote.name}.url",
        fix="Check the URL, the network and the credentials (`dvc remote modify`), or run "
        "where the remote can be reached.",
    )


def _check_data(
    root: Path,
    remote: _Remote | None,
    outputs: tuple[str, ...],
    deps: tuple[str, ...],
    *,
    remote_configured: bool,
) -> list[Finding]:
    """Where each file DVC tracks is: the workspace, the cache, the remote (when reachable)."""
    from mlops_ci.dvc_yaml import is_produced

    def status() -> dict[str, Any]:
        from dvc.repo import Repo

        with Repo(str(root)) as repo:
            return dict(repo.data_status(
                not_in_remote=remote is not None, remote_refresh=remote is not None
            ))

    try:
        data = _within(REMOTE_TIMEOUT * 2, status)
    except TimeoutError:
        return [Finding("dvc", "data", "warning", "DVC's data status did not answer in "
                        f"{REMOTE_TIMEOUT * 2:g} s; the data were not checked.",
                        fix="Run `dvc data status --not-in-remote` to see why.")]
    except Exception as exc:
        return [Finding("dvc", "data", "warning", f"DVC's data status failed: {_short(exc)}",
                        fix="Run `dvc data status --not-in-remote` to see why.")]
    absent = set(_paths(data.get("uncommitted", {}).get("deleted")))
    not_cached = set(_paths(data.get("not_in_cache")))
    not_remote = set(_paths(data.get("not_in_remote")))
    lost: list[str] = []
    pullable: list[str] = []
    unpushed: list[str] = []
    recomputed: list[str] = []
    for path in sorted(absent | not_cached | not_remote):
        produced = is_produced(path, outputs)
        here = path not in absent or path not in not_cached
        on_remote = remote is not None and path not in not_remote
        if not here and on_remote:
            pullable.append(path)
        elif not here:
            (recomputed if produced else lost).append(path)
        elif not on_remote and not produced and (remote is not None or not remote_configured):
            unpushed.append(path)  # (a remote that could not be reached was not asked)
    needed = [p for p in lost if _is_needed(p, deps)]
    findings = []
    if lost:
        level: Level = "blocker" if needed else "warning"
        whence = (
            f"on the DVC remote '{remote.name}'" if remote
            else "on a DVC remote that can be reached" if remote_configured
            else "on any DVC remote"
        )
        findings.append(Finding(
            "dvc", "data", level,
            f"{_names(lost)} {'is' if len(lost) == 1 else 'are'} tracked by DVC but neither in "
            f"the workspace, nor in the cache, nor {whence}"
            + (" (the pipeline needs it)." if needed else "."),
            fix="`dvc push` them from a copy that has them"
            + ("." if remote_configured else f", after {_ADD_REMOTE}."),
        ))
    if pullable:
        assert remote is not None
        findings.append(Finding(
            "dvc", "data", "warning",
            f"{_names(pullable)}: not in the workspace, on the DVC remote '{remote.name}'.",
            fix="`dvc pull`, or `mlops-ci run --pull` (`pipeline.pull: true` in mlops.yaml).",
        ))
    if unpushed:
        findings.append(Finding(
            "dvc", "data", "warning",
            f"{_names(unpushed)}: here, but "
            + (f"not on the DVC remote '{remote.name}'" if remote else
               "with no DVC remote to pull from")
            + ", so a fresh clone (a CI job) cannot get it.",
            fix="`dvc push`." if remote else f"{_ADD_REMOTE}.",
        ))
    if recomputed:
        findings.append(Finding(
            "dvc", "data", "info",
            f"{_names(recomputed)}: in no cache nor remote; `dvc repro` computes it again.",
        ))
    if not findings:
        where = f" and on the DVC remote '{remote.name}'" if remote else ""
        findings.append(Finding(
            "dvc", "data", "ok", f"every file DVC tracks is in the workspace or the cache{where}"
        ))
    return findings


def _is_needed(path: str, deps: tuple[str, ...]) -> bool:
    """A stage reads *path*: one of its deps is the path, inside it, or holds it."""
    from mlops_ci.dvc_yaml import is_produced

    return any(is_produced(dep, (path,)) or is_produced(path, (dep,)) for dep in deps)


def _paths(value: object) -> list[str]:
    return [str(p) for p in value] if isinstance(value, list) else []


def _names(paths: list[str]) -> str:
    shown = ", ".join(repr(p) for p in paths[:_SHOWN])
    return shown + (f" and {len(paths) - _SHOWN} more" if len(paths) > _SHOWN else "")


def _within(seconds: float, work: Callable[[], T]) -> T:
    """*work*'s result, or TimeoutError after *seconds*.

    A daemon thread: one a remote keeps waiting is left behind, and does not hold the exit.
    """
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # handed to the caller
            error.append(exc)

    thread = threading.Thread(target=target, name="mlops-ci-doctor", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise TimeoutError(f"no answer in {seconds:g} s")
    if error:
        raise error[0]
    return result[0]


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, MlopsError):
        return text
    return text if len(text) <= 300 else text[:297] + "..."
