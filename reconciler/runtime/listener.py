"""What one reconcile tells the record stage's sinks while it runs.

Part of the runtime. ``ReconcileCycle`` calls every listener in
``cycle.listeners`` at fixed points: after planning, when applying starts,
for each progress step a provider reports, after applying, and after the
statuses were written to the state store. The status recorder
(``reconciler.status``) listens to keep ``Reconciling`` conditions, the
latest plan, metrics, the live feed and the status branch up to date.

A listener must not raise: the cycle logs and ignores an exception from
one, so that a broken sink never stops a reconcile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler.model.common import ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.model.plan import ApplyReport, Plan
from reconciler.model.source import Revision
from reconciler.model.status import ResourceStatus


class CycleListener:
    """Base class: every hook does nothing; override what you need."""

    def planned(self, run_id: int, revision: Revision, desired: DesiredState,
                plan: Plan) -> None:
        """A plan was made (it may be empty, blocked or carry errors)."""

    def applying(self, run_id: int, refs: Sequence[ResourceRef]) -> None:
        """Changes to ``refs`` are about to be applied (the store already says so)."""

    def progress(self, ref: ResourceRef, step: str) -> None:
        """A provider reports the step it is at for ``ref`` (from any apply thread)."""

    def applied(self, run_id: int, report: ApplyReport) -> None:
        """Every change has a result."""

    def recorded(self, run_id: int, revision: Revision, desired: DesiredState,
                 previous: Mapping[ResourceRef, ResourceStatus],
                 statuses: Sequence[ResourceStatus],
                 removed: Sequence[ResourceRef]) -> None:
        """Statuses were written to the state store (``previous``: before this run)."""
