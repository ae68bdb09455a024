"""Plans are data: ``Change``, ``Plan`` and what applying them produced.

Part of the model layer. A provider's ``plan`` returns ``Change`` objects; the
plan stage orders them into a ``Plan``; renderers turn a plan into text, JSON or
Markdown. Nothing here knows how to apply anything.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, field_serializer

from reconciler.model.common import Frozen, ResourceRef
from reconciler.model.sensitive import REDACTED, Sensitive, redacted

PLAN_FORMAT_VERSION = 1


class ChangeAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"

    @property
    def mark(self) -> str:
        return {"create": "+", "update": "~", "replace": "-/+", "delete": "-"}[self.value]


class FieldDiff(Frozen):
    """One field that differs; ``path`` is dotted (``spec.env.TOKEN``)."""

    path: str
    before: Any = None
    after: Any = None
    sensitive: bool = False

    def shown(self) -> tuple[Any, Any]:
        if self.sensitive:
            return (
                None if self.before is None else REDACTED,
                None if self.after is None else REDACTED,
            )
        return redacted(self.before), redacted(self.after)

    @field_serializer("before", "after")
    def _dump_value(self, value: Any) -> Any:
        return REDACTED if self.sensitive and value is not None else redacted(value)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            if name in ("before", "after") and self.sensitive and value is not None:
                yield name, Sensitive("")  # repr: (sensitive)
            else:
                yield name, value


class Change(Frozen):
    action: ChangeAction
    ref: ResourceRef
    provider: str = Field(description="Name of the provider that planned and applies it.")
    reason: str = Field(description="One line: why this change is needed.")
    diffs: tuple[FieldDiff, ...] = ()
    details: tuple[str, ...] = Field(
        default=(), description="Further lines for people (e.g. services to recreate)."
    )
    payload: dict[str, Any] = Field(
        default_factory=dict,
        description="Provider data carried from plan to apply; never secret values.",
    )

    def sort_key(self) -> tuple[str, str, str]:
        return (self.ref.kind.value, self.ref.name, self.action.value)

    @field_serializer("payload")
    def _dump_payload(self, value: dict[str, Any]) -> Any:
        return redacted(value)


class PlanWarning(Frozen):
    ref: ResourceRef | None = None
    message: str


class PlanError(Frozen):
    """Actual state that could not be read: nothing is planned for ``ref``."""

    ref: ResourceRef | None = None
    provider: str
    message: str


class PolicyResult(Frozen):
    rule: str
    policy: str
    ref: ResourceRef
    message: str
    enforced: bool
    position: str | None = None
    path: str | None = Field(
        default=None,
        description="The node that violates the rule, for rules with 'each' "
        "(compose.services.web.ports[0]).",
    )


class Plan(Frozen):
    format_version: int = PLAN_FORMAT_VERSION
    revision: str
    desired_digest: str
    observed_digest: str
    changes: tuple[Change, ...] = ()
    warnings: tuple[PlanWarning, ...] = ()
    errors: tuple[PlanError, ...] = ()
    policy: tuple[PolicyResult, ...] = ()
    created_at: datetime | None = None

    @property
    def empty(self) -> bool:
        return not self.changes

    @property
    def blocked(self) -> bool:
        """True when an enforced policy failed: such a plan is never applied."""
        return any(p.enforced for p in self.policy)

    def digest(self) -> str:
        """Identity of what the plan would do (creation time left out)."""
        import hashlib
        import json

        body = self.model_dump(mode="json", exclude={"created_at"})
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()

    def counts(self) -> dict[ChangeAction, int]:
        out = dict.fromkeys(ChangeAction, 0)
        for change in self.changes:
            out[change.action] += 1
        return out

    def summary(self) -> str:
        if not self.changes:
            return "No changes."
        c = self.counts()
        add = c[ChangeAction.CREATE] + c[ChangeAction.REPLACE]
        destroy = c[ChangeAction.DELETE] + c[ChangeAction.REPLACE]
        return (
            f"Plan: {add} to add, {c[ChangeAction.UPDATE]} to change, {destroy} to destroy."
        )


class ChangeOutcome(StrEnum):
    APPLIED = "applied"
    FAILED = "failed"
    SKIPPED = "skipped"
    ROLLED_BACK = "rolled-back"


class ChangeResult(Frozen):
    ref: ResourceRef
    action: ChangeAction
    outcome: ChangeOutcome
    message: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    writes: int = Field(default=0, description="Write requests sent to the engine.")
    data: dict[str, Any] = Field(default_factory=dict)

    @field_serializer("data")
    def _dump_data(self, value: dict[str, Any]) -> Any:
        return redacted(value)


class ApplyReport(Frozen):
    plan_digest: str
    revision: str
    results: tuple[ChangeResult, ...] = ()

    @property
    def ok(self) -> bool:
        return all(r.outcome is ChangeOutcome.APPLIED for r in self.results)

    @property
    def writes(self) -> int:
        return sum(r.writes for r in self.results)
