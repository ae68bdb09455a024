"""The state store's record of reconciles: sources, revisions, runs, resource status.

Part of the state store (see ``store``). The runtime's record step writes these;
``bosun status``, the API, the dashboard and the status branch read them.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from reconciler.model.common import ResourceRef
from reconciler.model.source import Revision
from reconciler.model.status import Health, HealthState, HistoryEntry, ResourceStatus, Sync
from reconciler.state.db import Database, Key, _now, _time
from reconciler.state.records import (
    RevisionRecord,
    RunRecord,
    RunState,
    SourceRecord,
    SourceState,
)

HISTORY_PER_RESOURCE = 20
KEEP_RUNS = 1000


class RunsTables(Database):
    # -- sources and revisions ------------------------------------------------

    def set_source(self, name: str, url: str, ref: str, *, ok: bool, message: str = "",
                   revision: Revision | None = None) -> SourceRecord:
        """Record the outcome of reading a source (``url`` must already be scrubbed)."""
        now = _now()
        state = SourceState.OK if ok else SourceState.FAILED
        with self._tx() as db:
            db.execute(
                """INSERT INTO sources (name, url, ref, state, message, revision, checked_at,
                                        succeeded_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (name) DO UPDATE SET url=excluded.url, ref=excluded.ref,
                     state=excluded.state, message=excluded.message,
                     revision=COALESCE(excluded.revision, sources.revision),
                     checked_at=excluded.checked_at,
                     succeeded_at=COALESCE(excluded.succeeded_at, sources.succeeded_at)""",
                (Key(name), url, Key(ref), state, message,
                 Key(str(revision)) if revision else None, now, now if ok else None),
            )
            if ok and revision is not None:
                db.execute(
                    """INSERT OR IGNORE INTO revisions (source, revision, ref, sha, message,
                                                        seen_at) VALUES (?, ?, ?, ?, ?, ?)""",
                    (Key(name), Key(str(revision)), Key(revision.ref), Key(revision.sha or ""),
                     revision.message, now),
                )
        found = self.source(name)
        assert found is not None
        return found

    def source(self, name: str) -> SourceRecord | None:
        rows = self._query("SELECT * FROM sources WHERE name = ?", (name,))
        return _source(rows[0]) if rows else None

    def sources(self) -> list[SourceRecord]:
        return [_source(r) for r in self._query("SELECT * FROM sources ORDER BY name")]

    def revisions(self, limit: int = 50) -> list[RevisionRecord]:
        rows = self._query("SELECT * FROM revisions ORDER BY id DESC LIMIT ?", (limit,))
        return [
            RevisionRecord(id=r["id"], source=r["source"], revision=r["revision"], ref=r["ref"],
                           sha=r["sha"], message=r["message"],
                           seen_at=datetime.fromisoformat(r["seen_at"]))
            for r in rows
        ]

    # -- runs -----------------------------------------------------------------

    def start_run(self, revision: str, trigger: str, desired_digest: str | None = None) -> int:
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO runs (revision, trigger, state, started_at, desired_digest) "
                "VALUES (?, ?, ?, ?, ?)",
                (Key(revision), Key(trigger), RunState.PLANNING, _now(),
                 Key(desired_digest) if desired_digest else None),
            )
            db.execute("DELETE FROM runs WHERE id <= ? AND state NOT IN (?, ?)",
                       (int(cur.lastrowid or 0) - KEEP_RUNS, RunState.PLANNING.value,
                        RunState.APPLYING.value))
            return int(cur.lastrowid or 0)

    def mark_applying(self, run_id: int, plan_digest: str, summary: str,
                      changes: Sequence[str], refs: Iterable[ResourceRef]) -> None:
        """Say, before the first write to any engine, what is about to be applied."""
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET state = ?, plan_digest = ?, summary = ?, changes = ? "
                "WHERE id = ?",
                (RunState.APPLYING, Key(plan_digest), summary, json.dumps(list(changes)),
                 run_id),
            )
            for ref in refs:
                placeholder = ResourceStatus(ref=ref, sync=Sync.OUT_OF_SYNC, health=Health(
                    state=HealthState.PROGRESSING, reason="Applying"))
                db.execute(
                    """INSERT INTO resources (ref, kind, name, sync, health, applying_run, status,
                                              updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT (ref) DO UPDATE SET applying_run = excluded.applying_run""",
                    (Key(str(ref)), ref.kind, Key(ref.name), placeholder.sync,
                     placeholder.health.state, run_id,
                     json.dumps(placeholder.model_dump(mode="json", exclude={"history"})), _now()),
                )

    def finish_run(self, run_id: int, state: RunState, message: str = "",
                   summary: str | None = None, plan_digest: str | None = None) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET state = ?, finished_at = ?, message = ?, "
                "summary = COALESCE(?, summary), plan_digest = COALESCE(?, plan_digest) "
                "WHERE id = ?",
                (state, _now(), message, summary, Key(plan_digest) if plan_digest else None,
                 run_id),
            )
            # Runs of one source follow each other: once this one has ended, marks
            # left by earlier (interrupted) runs are stale too.
            db.execute("UPDATE resources SET applying_run = NULL WHERE applying_run <= ?",
                       (run_id,))

    def recover_interrupted(self) -> list[RunRecord]:
        """Runs a previous process left planning or applying: mark them interrupted.

        Called once at start-up. The resources they were applying keep their
        ``applying_run`` until the next reconcile re-reads the engines.
        """
        with self._tx() as db:
            rows = list(db.execute("SELECT * FROM runs WHERE state IN (?, ?) ORDER BY id",
                                   (RunState.PLANNING.value, RunState.APPLYING.value)))
            for row in rows:
                db.execute(
                    "UPDATE runs SET state = ?, finished_at = ?, message = ? WHERE id = ?",
                    (RunState.INTERRUPTED, _now(),
                     f"bosun stopped while this run was {row['state']}", row["id"]),
                )
        return [_run(r) for r in rows]

    def interrupted_refs(self) -> list[ResourceRef]:
        """Resources whose last apply never reported back."""
        rows = self._query("SELECT ref FROM resources WHERE applying_run IS NOT NULL")
        return [ResourceRef.parse(r["ref"]) for r in rows]

    def run(self, run_id: int) -> RunRecord | None:
        rows = self._query("SELECT * FROM runs WHERE id = ?", (run_id,))
        return _run(rows[0]) if rows else None

    def runs(self, limit: int = 50, state: RunState | None = None) -> list[RunRecord]:
        if state is None:
            rows = self._query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self._query("SELECT * FROM runs WHERE state = ? ORDER BY id DESC LIMIT ?",
                               (state.value, limit))
        return [_run(r) for r in rows]

    # -- resources ------------------------------------------------------------

    def put_status(self, status: ResourceStatus) -> None:
        """Store a resource's status (its ``history`` is kept separately; see add_history)."""
        body = status.model_dump(mode="json", exclude={"history"})
        with self._tx() as db:
            db.execute(
                """INSERT INTO resources (ref, kind, name, sync, health, status, updated_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (ref) DO UPDATE SET sync=excluded.sync, health=excluded.health,
                     status=excluded.status, updated_at=excluded.updated_at""",
                (Key(str(status.ref)), status.ref.kind, Key(status.ref.name), status.sync,
                 status.health.state, json.dumps(body), _now()),
            )

    def remove_status(self, ref: ResourceRef) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM resources WHERE ref = ?", (Key(str(ref)),))

    def status(self, ref: ResourceRef, history: int = HISTORY_PER_RESOURCE
               ) -> ResourceStatus | None:
        rows = self._query("SELECT status FROM resources WHERE ref = ?", (str(ref),))
        if not rows:
            return None
        return self._with_history(json.loads(rows[0]["status"]), history)

    def statuses(self, history: int = 5) -> list[ResourceStatus]:
        rows = self._query("SELECT status FROM resources ORDER BY kind, name")
        return [self._with_history(json.loads(r["status"]), history) for r in rows]

    def _with_history(self, body: dict[str, Any], limit: int) -> ResourceStatus:
        status = ResourceStatus.model_validate(body)
        if limit > 0:
            status = status.model_copy(update={"history": tuple(self.history(status.ref,
                                                                              limit))})
        return status

    def add_history(self, ref: ResourceRef, entry: HistoryEntry,
                    run_id: int | None = None) -> None:
        with self._tx() as db:
            db.execute(
                """INSERT INTO resource_history (ref, run_id, revision, digest, started_at,
                       finished_at, result, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                (Key(str(ref)), run_id, Key(entry.revision), Key(entry.digest),
                 Key(entry.started_at.isoformat()),
                 Key(entry.finished_at.isoformat()) if entry.finished_at else None,
                 Key(entry.result), json.dumps(list(entry.changes))),
            )
            db.execute(
                """DELETE FROM resource_history WHERE ref = ? AND id NOT IN (
                       SELECT id FROM resource_history WHERE ref = ? ORDER BY id DESC LIMIT ?)""",
                (Key(str(ref)), Key(str(ref)), HISTORY_PER_RESOURCE),
            )

    def history(self, ref: ResourceRef, limit: int = HISTORY_PER_RESOURCE
                ) -> list[HistoryEntry]:
        """Newest first."""
        rows = self._query(
            "SELECT * FROM resource_history WHERE ref = ? ORDER BY id DESC LIMIT ?",
            (str(ref), limit),
        )
        return [
            HistoryEntry(revision=r["revision"], digest=r["digest"],
                         started_at=datetime.fromisoformat(r["started_at"]),
                         finished_at=_time(r["finished_at"]), result=r["result"],
                         changes=tuple(json.loads(r["changes"])))
            for r in rows
        ]


def _source(r: sqlite3.Row) -> SourceRecord:
    return SourceRecord(
        name=r["name"], url=r["url"], ref=r["ref"], state=SourceState(r["state"]),
        message=r["message"], revision=r["revision"],
        checked_at=datetime.fromisoformat(r["checked_at"]),
        succeeded_at=_time(r["succeeded_at"]),
    )


def _run(r: sqlite3.Row) -> RunRecord:
    return RunRecord(
        id=r["id"], revision=r["revision"], trigger=r["trigger"], state=RunState(r["state"]),
        started_at=datetime.fromisoformat(r["started_at"]), finished_at=_time(r["finished_at"]),
        desired_digest=r["desired_digest"], plan_digest=r["plan_digest"],
        summary=r["summary"], message=r["message"], changes=tuple(json.loads(r["changes"])),
    )

