"""The resolved desired state: what the repository declares, checked and linked.

Part of the model layer. The resolve stage builds one ``DesiredState`` per
reconcile; providers read it in ``observe`` and ``plan``. Its ``digest`` does not
change with file order, key order, comments or formatting.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from reconciler.model.common import Frozen, Kind, ResourceRef
from reconciler.model.kinds import AnyDocument, Repository
from reconciler.model.source import Position, Revision


class ComposeSource(Frozen):
    """A stack's compose input as read from the repository."""

    project_dir: str = Field(description="Absolute folder that relative compose paths use.")
    files: tuple[str, ...] = Field(
        default=(), description="Absolute paths of the compose files; empty when inline."
    )
    model: dict[str, Any] = Field(
        description="The compose files' mappings merged naively (services, networks, volumes)."
    )
    raw: tuple[dict[str, Any], ...] = Field(
        default=(), description="Each compose file's own mapping, in order."
    )

    @property
    def inline(self) -> bool:
        return not self.files

    @property
    def services(self) -> tuple[str, ...]:
        services = self.model.get("services") or {}
        return tuple(sorted(services)) if isinstance(services, dict) else ()


class DesiredResource(Frozen):
    ref: ResourceRef
    document: AnyDocument
    position: Position
    depends_on: tuple[ResourceRef, ...] = ()
    compose: ComposeSource | None = None
    digest: str = Field(description="sha256 of the canonical document and its inputs.")

    @property
    def manifest_dir(self) -> str:
        """Folder of the manifest, relative to the repository root ('' at the root)."""
        head, _, _ = self.position.file.rpartition("/")
        return head


class DesiredState(Frozen):
    root: str = Field(description="Absolute path of the repository (or sub-folder) read.")
    revision: Revision
    repository: Repository
    resources: tuple[DesiredResource, ...] = ()
    digest: str

    @property
    def owner(self) -> str:
        return self.repository.spec.owner

    def get(self, ref: ResourceRef) -> DesiredResource | None:
        for res in self.resources:
            if res.ref == ref:
                return res
        return None

    def of_kind(self, *kinds: Kind) -> tuple[DesiredResource, ...]:
        return tuple(r for r in self.resources if r.ref.kind in kinds)

    def refs(self) -> tuple[ResourceRef, ...]:
        return tuple(r.ref for r in self.resources)
