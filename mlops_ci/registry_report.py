"""What the model registry (GTO's git tags) says about the report's model, at head and base.

Pure: the tags are read once by :func:`mlops_ci.registry.read_registry` (one
``git for-each-ref``), and here only the model's own entries are kept. Version and stage names
come out of GTO's grammar (letters, digits and a few signs); tag messages and taggers are not
carried into the report.
"""

from __future__ import annotations

from mlops_ci.registry import Artifact, Registry
from mlops_ci.report import RegistryInfo, RegistryState


def registry_info(
    registry: Registry | None, model: str, *, head: str | None, base: str | None
) -> RegistryInfo | None:
    """The model's registered version and stages on the *head* and *base* commits (full SHAs).

    None when the repository has no tags at all (a CI checkout without them says nothing) or
    none of its tags names the model (nor, for a single model, bare ``vX.Y.Z`` tags).
    """
    if registry is None or not registry.tag_names:
        return None
    artifact = registry.for_model(model)
    if artifact is None:
        return None
    latest = artifact.latest_version
    return RegistryInfo(
        artifact=artifact.name,
        latest=latest.name if latest else None,
        deprecated=artifact.deprecated,
        head=_state(artifact, head),
        base=_state(artifact, base) if base else None,
    )


def _state(artifact: Artifact, commit: str | None) -> RegistryState:
    if not commit:
        return RegistryState()
    versions = artifact.versions_at(commit)
    return RegistryState(
        version=versions[0].name if versions else None,
        stages=list(artifact.stages_at(commit)),
    )
