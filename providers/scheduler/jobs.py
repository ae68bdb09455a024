"""Registered jobs and handled slots, as persisted in the state store's key-value table.

apply -> **jobs** -> observe (``bosun plan``, in or out of ``bosun serve``) / engine

A job is a Schedule as it was last registered: its spec (secret references,
never values), the revision, and its anchor. ``scheduler.jobs`` holds one per
schedule; ``scheduler.slots`` holds the last slot each schedule handled (ran,
skipped or caught up), written *before* the run starts, so that a restart
never runs a slot twice, and the slot after it (for ``bosun status``). The
running scheduler of ``bosun serve`` loads the jobs at start-up and keeps them
in step with every apply.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from pydantic import Field

from reconciler.errors import ObserveError
from reconciler.model.common import Frozen
from reconciler.model.digest import digest
from reconciler.model.kinds import ScheduleSpec
from reconciler.model.schedule import REGISTRATIONS, SLOTS
from reconciler.provider import KeyValueStore

JOBS = REGISTRATIONS


def spec_body(spec: ScheduleSpec) -> dict[str, Any]:
    """A spec as plain JSON, the way the repository spells it (aliases)."""
    body: dict[str, Any] = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    return body


class RegisteredJob(Frozen):
    name: str
    owner: str
    spec: dict[str, Any] = Field(description="ScheduleSpec as JSON (aliases), no secret values.")
    revision: str = ""
    anchor: datetime = Field(description="Start of every-intervals; no slot before it runs.")
    registered_at: datetime

    @property
    def schedule(self) -> ScheduleSpec:
        return ScheduleSpec.model_validate(self.spec)

    @property
    def spec_digest(self) -> str:
        return digest(self.spec)

    @property
    def action_kind(self) -> str:
        action = self.schedule.action
        for kind in ("run", "exec", "http", "reconcile"):
            if getattr(action, kind) is not None:
                return kind
        return "unknown"


def same_timing(a: ScheduleSpec, b: ScheduleSpec) -> bool:
    return (a.cron, a.every, a.timezone) == (b.cron, b.every, b.timezone)


class JobBook:
    """Jobs and slots in a ``KeyValueStore``; claims are serialised per book."""

    def __init__(self, kv: KeyValueStore) -> None:
        self.kv = kv
        self._lock = threading.Lock()

    def jobs(self) -> dict[str, RegisteredJob]:
        try:
            items = self.kv.kv_items(JOBS)
        except Exception as exc:
            raise ObserveError(f"cannot read registered schedules: {exc}") from exc
        out: dict[str, RegisteredJob] = {}
        for name, body in items.items():
            try:
                out[name] = RegisteredJob.model_validate(body)
            except ValueError as exc:
                raise ObserveError(
                    f"registered schedule {name!r} is unreadable: {str(exc).splitlines()[0]}"
                ) from None
        return out

    def get(self, name: str) -> RegisteredJob | None:
        body = self.kv.kv_get(JOBS, name)
        if body is None:
            return None
        try:
            return RegisteredJob.model_validate(body)
        except ValueError:
            return None  # unreadable: registered afresh

    def put(self, job: RegisteredJob) -> None:
        self.kv.kv_put(JOBS, job.name, job.model_dump(mode="json"))

    def delete(self, name: str) -> None:
        self.kv.kv_delete(JOBS, name)
        self.kv.kv_delete(SLOTS, name)

    def last_slot(self, name: str) -> datetime | None:
        body = self.kv.kv_get(SLOTS, name)
        if isinstance(body, dict) and isinstance(body.get("slot"), str):
            return datetime.fromisoformat(body["slot"])
        return None

    def claim(self, name: str, slot: datetime, following: datetime | None) -> bool:
        """Record ``slot`` as handled; False when it (or a later one) already was.

        ``following`` is the slot after it, kept for ``bosun status`` and the API.
        """
        with self._lock:
            last = self.last_slot(name)
            if last is not None and slot <= last:
                return False
            self._write(name, slot, following)
            return True

    def reset_slot(self, name: str, slot: datetime, following: datetime | None) -> None:
        """A new job starts counting at ``slot``: nothing before it is ever caught up."""
        with self._lock:
            self._write(name, slot, following)

    def set_next(self, name: str, following: datetime | None) -> None:
        """The next slot changed (the job was registered or changed)."""
        with self._lock:
            last = self.last_slot(name)
            if last is not None:
                self._write(name, last, following)

    def _write(self, name: str, slot: datetime, following: datetime | None) -> None:
        self.kv.kv_put(SLOTS, name, {
            "slot": slot.astimezone(UTC).isoformat(),
            "next": following.astimezone(UTC).isoformat() if following else None,
            "at": datetime.now(UTC).isoformat(),
        })
