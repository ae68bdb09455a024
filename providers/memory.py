"""The memory provider: an honest in-process engine for tests and trying bosun out.

It implements the provider Protocol for every kind bosun applies. Its "engine"
is a JSON file in the state folder (``memory.json``) holding what was applied,
with a count of writes, so that a four-step test can prove that a second apply
sends nothing. It never resolves secret values: it records references only.
"""

from __future__ import annotations

import json
import os  # os.fdopen
import tempfile
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import Field

from reconciler.errors import ObserveError, PermanentError
from reconciler.model.common import Frozen, Kind, ResourceRef
from reconciler.model.desired import DesiredResource, DesiredState
from reconciler.model.diff import diff_values
from reconciler.model.kinds import Stack, StackState
from reconciler.model.plan import Change, ChangeAction, ChangeOutcome, ChangeResult
from reconciler.model.status import Health, HealthState
from reconciler.provider import ProviderContext

MANAGED_KINDS = frozenset(
    {Kind.STACK, Kind.GATEWAY, Kind.ROUTE, Kind.DNS_ZONE, Kind.DNS_RECORD, Kind.SCHEDULE}
)
STATE_FILE = "memory.json"


class MemoryObject(Frozen):
    owner: str
    digest: str
    spec: dict[str, Any]
    applied_at: str


class MemoryState(Frozen):
    objects: dict[str, MemoryObject] = Field(default_factory=dict)
    writes: int = 0


def desired_body(res: DesiredResource) -> dict[str, Any]:
    """What the memory engine stores for a resource: its spec and compose input."""
    doc = res.document
    body: dict[str, Any] = {"spec": doc.spec.model_dump(mode="json", by_alias=True),
                            "labels": dict(doc.metadata.labels)}
    if doc.metadata.annotations:
        body["annotations"] = dict(doc.metadata.annotations)
    if res.compose is not None:
        body["compose"] = list(res.compose.raw)
    return body


class MemoryProvider:
    name = "memory"
    kinds = MANAGED_KINDS

    def __init__(self, kinds: frozenset[Kind] | None = None) -> None:
        if kinds is not None:
            self.kinds = kinds
        self._lock = threading.Lock()

    # -- the engine -----------------------------------------------------------

    @staticmethod
    def path(ctx: ProviderContext) -> Path:
        return ctx.state_dir / STATE_FILE

    def read(self, ctx: ProviderContext) -> MemoryState:
        path = self.path(ctx)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return MemoryState()
        except OSError as exc:
            raise ObserveError(f"cannot read {path}: {exc.strerror}") from None
        try:
            return MemoryState.model_validate_json(text)
        except ValueError as exc:
            raise ObserveError(f"{path} is corrupt: {str(exc).splitlines()[0]}") from None

    def _write(self, ctx: ProviderContext, state: MemoryState) -> None:
        path = self.path(ctx)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".memory-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(state.model_dump(mode="json"), fh, indent=1, sort_keys=True)
            Path(tmp).replace(path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def seed(self, desired: DesiredState, ctx: ProviderContext) -> int:
        """Record ``desired`` as if it had been applied (``bosun plan --offline``).

        Replaces whatever the state file held; returns the number of objects.
        """
        now = datetime.now(UTC).isoformat()
        objects = {
            str(ref): MemoryObject(owner=ctx.owner, digest=res.digest,
                                   spec=desired_body(res), applied_at=now)
            for ref, res in self._wanted(desired).items()
        }
        with self._lock:
            self._write(ctx, MemoryState(objects=objects, writes=0))
        return len(objects)

    # -- Protocol -------------------------------------------------------------

    def observe(self, desired: DesiredState, ctx: ProviderContext) -> MemoryState:
        return self.read(ctx)

    def _wanted(self, desired: DesiredState) -> dict[ResourceRef, DesiredResource]:
        out: dict[ResourceRef, DesiredResource] = {}
        for res in desired.resources:
            if res.ref.kind not in self.kinds:
                continue
            doc = res.document
            if isinstance(doc, Stack) and doc.spec.state is StackState.ABSENT:
                continue
            out[res.ref] = res
        return out

    def plan(
        self, desired: DesiredState, observed: MemoryState, ctx: ProviderContext
    ) -> list[Change]:
        wanted = self._wanted(desired)
        changes: list[Change] = []
        for ref, res in wanted.items():
            current = observed.objects.get(str(ref))
            after = desired_body(res)
            if current is None:
                changes.append(Change(
                    action=ChangeAction.CREATE, ref=ref, provider=self.name,
                    reason=f"{ref} does not exist yet",
                    diffs=tuple(diff_values({}, after)),
                    payload={"digest": res.digest},
                ))
            elif current.digest != res.digest or current.spec != after:
                diffs = tuple(diff_values(current.spec, after))
                if not diffs:
                    continue
                fields = ", ".join(d.path for d in diffs[:3]) + (", ..." if len(diffs) > 3 else "")
                changes.append(Change(
                    action=ChangeAction.UPDATE, ref=ref, provider=self.name,
                    reason=f"changed: {fields}", diffs=diffs, payload={"digest": res.digest},
                ))
        for key, obj in sorted(observed.objects.items()):
            ref = ResourceRef.parse(key)
            if ref.kind not in self.kinds or ref in wanted or obj.owner != ctx.owner:
                continue
            is_absent = desired.get(ref) is not None
            changes.append(Change(
                action=ChangeAction.DELETE, ref=ref, provider=self.name,
                reason="state: absent in the repository" if is_absent
                else "removed from the repository",
                diffs=tuple(diff_values(obj.spec, {})),
            ))
        return changes

    def batch_key(self, change: Change) -> str:
        return str(change.ref)

    def apply(
        self, changes: Sequence[Change], desired: DesiredState, ctx: ProviderContext
    ) -> list[ChangeResult]:
        results: list[ChangeResult] = []
        with self._lock:
            state = self.read(ctx)
            objects = dict(state.objects)
            writes = state.writes
            for change in changes:
                started = datetime.now(UTC)
                key = str(change.ref)
                if change.action is ChangeAction.DELETE:
                    objects.pop(key, None)
                else:
                    res = desired.get(change.ref)
                    if res is None:
                        raise PermanentError("not in the desired state", change.ref)
                    objects[key] = MemoryObject(
                        owner=ctx.owner, digest=res.digest, spec=desired_body(res),
                        applied_at=started.isoformat(),
                    )
                writes += 1
                results.append(ChangeResult(
                    ref=change.ref, action=change.action, outcome=ChangeOutcome.APPLIED,
                    started_at=started, finished_at=datetime.now(UTC), writes=1,
                ))
            self._write(ctx, MemoryState(objects=objects, writes=writes))
        return results

    def health(
        self, desired: DesiredState, observed: MemoryState, ctx: ProviderContext
    ) -> dict[ResourceRef, Health]:
        out: dict[ResourceRef, Health] = {}
        for ref, res in self._wanted(desired).items():
            obj = observed.objects.get(str(ref))
            if obj is None:
                out[ref] = Health(state=HealthState.MISSING, reason="NotApplied")
            elif obj.digest != res.digest:
                out[ref] = Health(state=HealthState.PROGRESSING, reason="OutOfDate")
            else:
                out[ref] = Health(state=HealthState.HEALTHY)
        return out
