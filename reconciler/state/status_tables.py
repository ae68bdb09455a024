"""The state store's tables for the API and the dashboard: plans, schedule runs, event pages.

Part of the state store (``StateStore`` inherits these methods). The record
stage writes each plan it makes; the schedules runtime writes schedule runs
through ``start_schedule_run``/``finish_schedule_run``; the API, the
dashboard and ``bosun status`` read them.

Schedule runs, the read model the schedules runtime fills: one row per run of
a Schedule, ``state`` one of ``ScheduleRunState``, ``trigger`` what started it
(``cron``, ``every``, ``manual``, ``missed``, ``api``), ``scheduled_at`` the
tick it was for, ``exit_code`` the command's exit code when there was one,
``output`` the end of its output (at most ``OUTPUT_LIMIT`` characters, secret
values already scrubbed by the caller).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from reconciler.model.common import Frozen, ResourceRef
from reconciler.state.db import Database, Key
from reconciler.state.records import EventLevel, EventRecord, RunRecord, RunState

KEEP_PLANS = 200
KEEP_SCHEDULE_RUNS = 5000
OUTPUT_LIMIT = 16_000


def _now() -> Key:
    return Key(datetime.now(UTC).isoformat())


class PlanRecord(Frozen):
    id: int
    run_id: int | None = None
    revision: str
    created_at: datetime
    digest: str
    summary: str
    changes: int = 0
    body: dict[str, Any] = Field(description="The plan as render.plan_json gives it.")


class PlanChangeRecord(Frozen):
    """One resource's change in a stored plan."""

    plan_id: int
    revision: str
    created_at: datetime
    change: dict[str, Any]


class ScheduleRunState(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"          # concurrency: forbid, and the previous run was still going
    TIMED_OUT = "timed-out"
    INTERRUPTED = "interrupted"  # bosun stopped while it ran


class ScheduleRunRecord(Frozen):
    id: int
    schedule: str
    trigger: str
    state: ScheduleRunState
    scheduled_at: datetime | None = None
    started_at: datetime
    finished_at: datetime | None = None
    exit_code: int | None = None
    message: str = ""
    output: str = ""


class StatusTables(Database):
    """The tables' methods; ``StateStore`` inherits them."""

    # -- plans ----------------------------------------------------------------

    def put_plan(self, run_id: int | None, body: dict[str, Any]) -> int:
        """Store a plan (``render.plan_json``: sensitive values already redacted)."""
        changes = body.get("changes") or []
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO plans (run_id, revision, created_at, digest, summary, changes, body) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, Key(body.get("revision") or ""), Key(body.get("created_at") or _now()),
                 Key(body.get("digest") or ""), (body.get("summary") or {}).get("text", ""),
                 len(changes), json.dumps(body, sort_keys=True)),
            )
            plan_id = int(cur.lastrowid or 0)
            db.executemany(
                "INSERT INTO plan_changes (plan_id, ref, action, body) VALUES (?, ?, ?, ?)",
                [(plan_id, Key(c.get("resource") or ""), Key(c.get("action") or ""),
                  json.dumps(c, sort_keys=True)) for c in changes],
            )
            if plan_id % 20 == 0:
                db.execute("DELETE FROM plans WHERE id <= ?", (plan_id - KEEP_PLANS,))
                db.execute("DELETE FROM plan_changes WHERE plan_id <= ?",
                           (plan_id - KEEP_PLANS,))
        return plan_id

    def plan_record(self, plan_id: int | None = None) -> PlanRecord | None:
        """The plan with ``plan_id``, or the latest one."""
        if plan_id is None:
            rows = self._query("SELECT * FROM plans ORDER BY id DESC LIMIT 1")
        else:
            rows = self._query("SELECT * FROM plans WHERE id = ?", (plan_id,))
        return _plan(rows[0]) if rows else None

    def plan_records(self, limit: int = 20, before: int | None = None) -> list[PlanRecord]:
        """Newest first; ``before`` gives plans with a smaller id (the next page)."""
        rows = self._query("SELECT * FROM plans WHERE id < ? ORDER BY id DESC LIMIT ?",
                           (before if before is not None else 2**62, limit))
        return [_plan(r) for r in rows]

    def last_changes(self, ref: ResourceRef, limit: int = 1) -> list[PlanChangeRecord]:
        """The latest planned changes to ``ref``, newest first."""
        rows = self._query(
            """SELECT c.plan_id, c.body, p.revision, p.created_at FROM plan_changes c
               JOIN plans p ON p.id = c.plan_id WHERE c.ref = ?
               ORDER BY c.plan_id DESC LIMIT ?""",
            (str(ref), limit),
        )
        return [PlanChangeRecord(plan_id=r["plan_id"], revision=r["revision"],
                                 created_at=datetime.fromisoformat(r["created_at"]),
                                 change=json.loads(r["body"])) for r in rows]

    # -- statuses, for lists --------------------------------------------------------

    def status_bodies(self) -> list[dict[str, Any]]:
        """Every stored status as plain JSON data without its details, unvalidated:
        for long lists, where 500 models would cost more than the page itself."""
        # Details (containers and all) are the bulk of a status and no list shows them.
        rows = self._query("SELECT json_remove(status, '$.details') AS status FROM resources "
                           "ORDER BY kind, name")
        return [json.loads(r["status"]) for r in rows]

    # -- reconcile runs, a page at a time -----------------------------------------

    def run_page(self, limit: int = 50, before: int | None = None,
                 state: str | None = None) -> list[RunRecord]:
        """Newest first; ``before`` (a run id) is the cursor of the next page."""
        sql = "SELECT * FROM runs WHERE id < ?"
        args: list[Any] = [before if before is not None else 2**62]
        if state is not None:
            sql += " AND state = ?"
            args.append(state)
        rows = self._query(sql + " ORDER BY id DESC LIMIT ?", (*args, limit))
        return [RunRecord(
            id=r["id"], revision=r["revision"], trigger=r["trigger"],
            state=RunState(r["state"]), started_at=datetime.fromisoformat(r["started_at"]),
            finished_at=_time(r["finished_at"]), desired_digest=r["desired_digest"],
            plan_digest=r["plan_digest"], summary=r["summary"], message=r["message"],
            changes=tuple(json.loads(r["changes"])),
        ) for r in rows]

    # -- events, a page at a time ----------------------------------------------

    def event_page(self, limit: int = 50, before: int | None = None, kind: str | None = None,
                   ref: ResourceRef | None = None, level: EventLevel | None = None
                   ) -> list[EventRecord]:
        """Newest first. ``before`` (an event id) is a stable cursor: new events
        never shift a page."""
        sql = "SELECT * FROM events WHERE id < ?"
        args: list[Any] = [before if before is not None else 2**62]
        for column, value in (("kind", kind), ("ref", str(ref) if ref else None),
                              ("level", level.value if level else None)):
            if value is not None:
                sql += f" AND {column} = ?"
                args.append(value)
        rows = self._query(sql + " ORDER BY id DESC LIMIT ?", (*args, limit))
        return [_event(r) for r in rows]

    def events_after(self, after: int, limit: int = 200) -> list[EventRecord]:
        """Events with an id above ``after``, oldest first (for the live feed)."""
        rows = self._query("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?",
                           (after, limit))
        return [_event(r) for r in rows]

    def last_event_id(self) -> int:
        rows = self._query("SELECT MAX(id) AS id FROM events")
        return int(rows[0]["id"] or 0)

    # -- schedule runs --------------------------------------------------------

    def start_schedule_run(self, schedule: str, trigger: str,
                           scheduled_at: datetime | None = None) -> int:
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO schedule_runs (schedule, trigger, state, scheduled_at, started_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (Key(schedule), Key(trigger), ScheduleRunState.RUNNING,
                 Key(scheduled_at.isoformat()) if scheduled_at else None, _now()),
            )
            run_id = int(cur.lastrowid or 0)
            if run_id % 100 == 0:
                db.execute("DELETE FROM schedule_runs WHERE id <= ?",
                           (run_id - KEEP_SCHEDULE_RUNS,))
            return run_id

    def finish_schedule_run(self, run_id: int, state: ScheduleRunState,
                            exit_code: int | None = None, message: str = "",
                            output: str = "") -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE schedule_runs SET state = ?, finished_at = ?, exit_code = ?, "
                "message = ?, output = ? WHERE id = ?",
                (state, _now(), exit_code, message, output[-OUTPUT_LIMIT:], run_id),
            )

    def schedule_runs(self, schedule: str | None = None, limit: int = 50,
                      before: int | None = None) -> list[ScheduleRunRecord]:
        """Newest first; ``before`` (a run id) is the cursor of the next page."""
        sql = "SELECT * FROM schedule_runs WHERE id < ?"
        args: list[Any] = [before if before is not None else 2**62]
        if schedule is not None:
            sql += " AND schedule = ?"
            args.append(schedule)
        rows = self._query(sql + " ORDER BY id DESC LIMIT ?", (*args, limit))
        return [
            ScheduleRunRecord(
                id=r["id"], schedule=r["schedule"], trigger=r["trigger"],
                state=ScheduleRunState(r["state"]), scheduled_at=_time(r["scheduled_at"]),
                started_at=datetime.fromisoformat(r["started_at"]),
                finished_at=_time(r["finished_at"]), exit_code=r["exit_code"],
                message=r["message"], output=r["output"],
            )
            for r in rows
        ]


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _plan(r: sqlite3.Row) -> PlanRecord:
    return PlanRecord(id=r["id"], run_id=r["run_id"], revision=r["revision"],
                      created_at=datetime.fromisoformat(r["created_at"]), digest=r["digest"],
                      summary=r["summary"], changes=r["changes"], body=json.loads(r["body"]))


def _event(r: sqlite3.Row) -> EventRecord:
    return EventRecord(id=r["id"], at=datetime.fromisoformat(r["at"]),
                       level=EventLevel(r["level"]), kind=r["kind"],
                       ref=ResourceRef.parse(r["ref"]) if r["ref"] else None,
                       message=r["message"], data=json.loads(r["data"]))
