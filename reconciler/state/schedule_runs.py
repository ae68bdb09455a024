"""The scheduler's side of the ``schedule_runs`` table: the history of every Schedule's runs.

Part of the state store (see ``store``; ``StateStore`` inherits these methods).
The table comes from migration 2 (read by the API's ``/api/v1/schedules/runs``
through ``status_tables``) and migration 3 (the scheduler's extra columns).
The scheduler provider writes whole rows (``save_schedule_run``) while ``bosun
serve`` runs; ``bosun status``, ``bosun schedule``, the API and the dashboard
read them. One row per run (``reconciler.model.schedule.ScheduleRun``):

- ``schedule``: the Schedule's ``metadata.name``;
- ``scheduled_at``: the slot, the scheduled time the run is for (UTC, before
  jitter); a slot is run at most once, across restarts;
- ``trigger``: ``cron`` or ``every`` (the slot came while bosun ran), or
  ``missed`` (caught up at start-up, ``missed: run-once``);
- ``action``: ``run``, ``exec``, ``http`` or ``reconcile``;
- ``revision``: the revision that registered the job;
- ``started_at`` / ``finished_at``: UTC ISO 8601; ``finished_at`` is NULL
  while the run goes on;
- ``state``: ``running``, ``succeeded``, ``failed``, ``skipped`` or
  ``interrupted`` (a timeout is ``failed`` with reason ``timeout``);
  ``reason`` says why in one word (``exit``, ``status``, ``queued``,
  ``timeout``, ``replaced``, ``concurrency``, ``missed``, ``suspended``,
  ``error``, ``stopping``);
- ``exit_code``: of the command (``run``, ``exec``), else NULL;
- ``message``: one line for people;
- ``output``: the last 64 KiB of what the run printed, every resolved secret
  value replaced by ``(sensitive)``; ``output_truncated`` is 1 when cut.

Only the newest ``spec.history`` rows of each schedule are kept (the writer
passes the number); rows of schedules that were removed stay until
``KEEP_SCHEDULE_RUNS`` rows in all push them out.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from typing import Any

from reconciler.model.schedule import (
    REGISTRATIONS,
    SLOTS,
    ScheduleOverview,
    ScheduleRun,
    ScheduleRunReason,
    ScheduleRunResult,
    ScheduleTrigger,
)
from reconciler.state.db import Database, Key

KEEP_SCHEDULE_RUNS = 20000

_COLUMNS = ("schedule", "scheduled_at", "trigger", "action", "revision", "started_at",
            "finished_at", "state", "reason", "exit_code", "message", "output",
            "output_truncated")
# Statements built once from the constant column names above (no input reaches them).
_INSERT = (f"INSERT INTO schedule_runs ({', '.join(_COLUMNS)}) "  # noqa: S608
           f"VALUES ({', '.join('?' for _ in _COLUMNS)})")
_UPDATE = f"UPDATE schedule_runs SET {', '.join(c + ' = ?' for c in _COLUMNS)} WHERE id = ?"  # noqa: S608
_BRIEF = ", ".join(["id", *(c if c != "output" else "'' AS output" for c in _COLUMNS)])


def _iso(value: datetime | None) -> Key | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return Key(value.astimezone(UTC).isoformat())


def _values(run: ScheduleRun) -> tuple[Any, ...]:
    return (Key(run.schedule), _iso(run.slot), run.trigger, Key(run.action),
            Key(run.revision) if run.revision is not None else None,
            _iso(run.started_at), _iso(run.finished_at), run.result, run.reason,
            run.exit_code, run.message, run.output, int(run.output_truncated))


def _record(row: sqlite3.Row) -> ScheduleRun:
    return ScheduleRun(
        id=row["id"], schedule=row["schedule"],
        slot=datetime.fromisoformat(row["scheduled_at"]) if row["scheduled_at"] else None,
        trigger=_trigger(row["trigger"]), action=row["action"], revision=row["revision"],
        started_at=datetime.fromisoformat(row["started_at"]),
        finished_at=datetime.fromisoformat(row["finished_at"]) if row["finished_at"] else None,
        result=ScheduleRunResult(row["state"]), reason=_reason(row["reason"]),
        exit_code=row["exit_code"], message=row["message"], output=row["output"],
        output_truncated=bool(row["output_truncated"]),
    )


class ScheduleRunsTables(Database):
    """Schedule history methods of ``StateStore``."""

    def kv_items(self, namespace: str) -> dict[str, Any]:  # from ControlTables
        raise NotImplementedError

    def save_schedule_run(self, run: ScheduleRun, keep: int | None = None) -> int:
        """Insert ``run`` (``id`` None) or replace the row with its id; the row's id.

        ``keep`` prunes the schedule's history to its newest ``keep`` rows
        (rows still running are never pruned).
        """
        with self._tx() as db:
            if run.id is None:
                cur = db.execute(_INSERT, _values(run))
                run_id = int(cur.lastrowid or 0)
                if run_id % 500 == 0:
                    db.execute("DELETE FROM schedule_runs WHERE id <= ?",
                               (run_id - KEEP_SCHEDULE_RUNS,))
            else:
                db.execute(_UPDATE, (*_values(run), run.id))
                run_id = run.id
            if keep is not None:
                db.execute(
                    """DELETE FROM schedule_runs WHERE schedule = ? AND state != ? AND id NOT IN (
                           SELECT id FROM schedule_runs WHERE schedule = ?
                           ORDER BY id DESC LIMIT ?)""",
                    (Key(run.schedule), ScheduleRunResult.RUNNING, Key(run.schedule),
                     max(1, keep)))
            return run_id

    def schedule_history(self, schedule: str | None = None, limit: int = 20,
                         output: bool = True) -> list[ScheduleRun]:
        """Newest first; ``output=False`` leaves the output column out (lists, status)."""
        columns = "*" if output else _BRIEF
        where, args = ("WHERE schedule = ?", (schedule, limit)) if schedule is not None \
            else ("", (limit,))
        rows = self._query(f"SELECT {columns} FROM schedule_runs {where} "  # noqa: S608
                           "ORDER BY id DESC LIMIT ?", args)
        return [_record(r) for r in rows]

    def last_schedule_runs(self) -> dict[str, ScheduleRun]:
        """Each schedule's newest run that ran and ended (skipped ones left out), no output."""
        rows = self._query(
            f"SELECT {_BRIEF} FROM schedule_runs WHERE id IN ("  # noqa: S608
            "SELECT MAX(id) FROM schedule_runs WHERE state NOT IN (?, ?) GROUP BY schedule)",
            (ScheduleRunResult.RUNNING.value, ScheduleRunResult.SKIPPED.value))
        return {r["schedule"]: _record(r) for r in rows}

    def schedule_run(self, run_id: int) -> ScheduleRun | None:
        rows = self._query("SELECT * FROM schedule_runs WHERE id = ?", (run_id,))
        return _record(rows[0]) if rows else None

    def schedule_names(self) -> list[str]:
        """Every schedule with at least one run recorded."""
        rows = self._query("SELECT DISTINCT schedule FROM schedule_runs ORDER BY schedule")
        return [str(r["schedule"]) for r in rows]

    def interrupt_schedule_runs(self, message: str) -> list[ScheduleRun]:
        """Mark runs a previous process left ``running`` as interrupted (at start-up)."""
        now = Key(datetime.now(UTC).isoformat())
        with self._tx() as db:
            rows = list(db.execute("SELECT * FROM schedule_runs WHERE state = ? ORDER BY id",
                                   (ScheduleRunResult.RUNNING.value,)))
            db.execute(
                "UPDATE schedule_runs SET state = ?, reason = ?, finished_at = ?, message = ? "
                "WHERE state = ?",
                (ScheduleRunResult.INTERRUPTED, ScheduleRunReason.STOPPING, now,
                 message, ScheduleRunResult.RUNNING))
        return [_record(r) for r in rows]

    def schedules_overview(self) -> list[ScheduleOverview]:
        """Registered schedules (and removed ones with history): when, next run, last run."""
        jobs = self.kv_items(REGISTRATIONS)
        slots = self.kv_items(SLOTS)
        out: list[ScheduleOverview] = []
        for name in sorted(set(jobs) | set(self.schedule_names())):
            found, kept = jobs.get(name), slots.get(name)
            job: dict[str, Any] | None = found if isinstance(found, dict) else None
            slot: dict[str, Any] = kept if isinstance(kept, dict) else {}
            last = self.schedule_history(name, 1, output=False)
            spec: dict[str, Any] = (job or {}).get("spec") or {}
            when = f"every {spec['every']}" if spec.get("every") else (
                f"cron {spec['cron']} ({spec.get('timezone', 'UTC')})" if spec.get("cron")
                else "")
            action = next((k for k in ("run", "exec", "http", "reconcile")
                           if (spec.get("action") or {}).get(k) is not None), "")
            out.append(ScheduleOverview(
                name=name, registered=job is not None, when=when, action=action,
                revision=(job or {}).get("revision") or None,
                suspended=bool(spec.get("suspend")),
                next_run=_when(slot.get("next")) if job is not None else None,
                last_slot=_when(slot.get("slot")),
                last_run=last[0] if last else None,
            ))
        return out


def _trigger(text: str) -> ScheduleTrigger:
    try:
        return ScheduleTrigger(text)
    except ValueError:  # rows other writers made (manual, api)
        return ScheduleTrigger.MANUAL


def _reason(text: str) -> ScheduleRunReason:
    try:
        return ScheduleRunReason(text)
    except ValueError:
        return ScheduleRunReason.NONE


def _when(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) and text else None
