"""The state store: what bosun remembers between reconciles and across restarts.

Not a stage: the runtime's *record* step writes here; ``bosun status``, the API,
the dashboard and providers (through ``ProviderContext.kv``) read it. One
SQLite database in WAL mode, ``<state-dir>/state.db``: sources, revisions seen,
reconcile runs, per-resource status and history, events, webhook deliveries,
a key-value table (last healthy configs for rollback), suspended resources and
the history of schedule runs (``schedule_runs``).

A store that cannot be opened, fails SQLite's quick check or comes from a
newer bosun is moved aside (``state.db.broken-<time>``) and a fresh one is
made: everything in it can be rebuilt from Git and the engines by the next
reconcile. Suspensions cannot, so they are mirrored in ``suspended.json``.
One connection per store, shared by threads under a lock; other processes
(``bosun status``, ``bosun suspend``) open their own and wait up to
``BUSY_TIMEOUT`` for a writer.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.errors import BosunError
from reconciler.model.common import ResourceRef
from reconciler.model.source import Revision
from reconciler.model.status import HistoryEntry, ResourceStatus
from reconciler.state.records import (
    EventLevel,
    EventRecord,
    RevisionRecord,
    RunRecord,
    RunState,
    SourceRecord,
    SourceState,
    SuspendedRecord,
)
from reconciler.state.schedule_runs import ScheduleRunsMixin
from reconciler.state.schema import MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger("bosun.state")

DB_FILE = "state.db"
SUSPENDED_FILE = "suspended.json"
BUSY_TIMEOUT = 10.0
HISTORY_PER_RESOURCE = 20
KEEP_RUNS = 1000
KEEP_EVENTS = 5000
KEEP_DELIVERIES = 5000


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class StoreError(Exception):
    """The database could not be used; the store is moved aside and rebuilt."""


class StateDirError(BosunError):
    """The state folder itself cannot be used (missing permissions, full disk)."""


class StateStore(ScheduleRunsMixin):
    """bosun's SQLite state. Every method is safe to call from any thread.

    Schedule run history lives in ``schedule_runs`` (methods in ``ScheduleRunsMixin``).
    """

    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.path = state_dir / DB_FILE
        self.rebuilt_from: Path | None = None
        self._lock = threading.RLock()
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
            if not os.access(state_dir, os.W_OK | os.X_OK):
                raise PermissionError(f"{state_dir} is not writable")
        except OSError as exc:
            raise StateDirError(f"cannot use the state folder {state_dir}: {exc}") from None
        try:
            self._db = self._connect()
        except (sqlite3.DatabaseError, StoreError) as exc:
            try:
                self.rebuilt_from = self._move_aside(str(exc))
                self._db = self._connect()
            except (OSError, sqlite3.DatabaseError) as again:
                raise StateDirError(f"cannot rebuild the state store in {state_dir}: "
                                    f"{again}") from None
            self._restore_suspended()
            self.add_event("state", f"the state store was unusable ({exc}); moved to "
                           f"{self.rebuilt_from.name} and rebuilt",
                           level=EventLevel.WARNING)

    @classmethod
    def open(cls, state_dir: Path) -> StateStore:
        return cls(state_dir)

    # -- opening, migrating, rebuilding ---------------------------------------

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None,
                             check_same_thread=False)
        try:
            db.row_factory = sqlite3.Row
            check = db.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise StoreError(f"quick check failed: {check}")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StoreError(f"schema version {version} is newer than this bosun's "
                                 f"({SCHEMA_VERSION})")
            for number in range(version, SCHEMA_VERSION):
                db.execute("BEGIN IMMEDIATE")
                try:
                    for statement in _statements(MIGRATIONS[number]):
                        db.execute(statement)
                    db.execute(f"PRAGMA user_version = {number + 1}")
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
        except BaseException:
            db.close()
            raise
        return db

    def _move_aside(self, reason: str) -> Path:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        target = self.path.with_name(f"{DB_FILE}.broken-{stamp}")
        log.warning("state store %s is unusable (%s); moving it to %s and starting afresh",
                    self.path, reason, target.name)
        for suffix in ("", "-wal", "-shm"):
            part = self.path.with_name(DB_FILE + suffix)
            if part.exists():
                part.rename(target.with_name(target.name + suffix))
        return target

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())

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
                (name, url, ref, state.value, message, str(revision) if revision else None,
                 now, now if ok else None),
            )
            if ok and revision is not None:
                db.execute(
                    """INSERT OR IGNORE INTO revisions (source, revision, ref, sha, message,
                                                        seen_at) VALUES (?, ?, ?, ?, ?, ?)""",
                    (name, str(revision), revision.ref, revision.sha, revision.message, now),
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
                (revision, trigger, RunState.PLANNING.value, _now(), desired_digest),
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
                (RunState.APPLYING.value, plan_digest, summary, json.dumps(list(changes)),
                 run_id),
            )
            for ref in refs:
                db.execute("UPDATE resources SET applying_run = ? WHERE ref = ?",
                           (run_id, str(ref)))

    def finish_run(self, run_id: int, state: RunState, message: str = "",
                   summary: str | None = None, plan_digest: str | None = None) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE runs SET state = ?, finished_at = ?, message = ?, "
                "summary = COALESCE(?, summary), plan_digest = COALESCE(?, plan_digest) "
                "WHERE id = ?",
                (state.value, _now(), message, summary, plan_digest, run_id),
            )
            db.execute("UPDATE resources SET applying_run = NULL WHERE applying_run = ?",
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
                    (RunState.INTERRUPTED.value, _now(),
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
                (str(status.ref), status.ref.kind.value, status.ref.name, status.sync.value,
                 status.health.state.value, json.dumps(body), _now()),
            )

    def remove_status(self, ref: ResourceRef) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM resources WHERE ref = ?", (str(ref),))

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
                (str(ref), run_id, entry.revision, entry.digest, entry.started_at.isoformat(),
                 entry.finished_at.isoformat() if entry.finished_at else None, entry.result,
                 json.dumps(list(entry.changes))),
            )
            db.execute(
                """DELETE FROM resource_history WHERE ref = ? AND id NOT IN (
                       SELECT id FROM resource_history WHERE ref = ? ORDER BY id DESC LIMIT ?)""",
                (str(ref), str(ref), HISTORY_PER_RESOURCE),
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

    # -- events ---------------------------------------------------------------

    def add_event(self, kind: str, message: str, level: EventLevel = EventLevel.INFO,
                  ref: ResourceRef | None = None, data: dict[str, Any] | None = None) -> int:
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO events (at, level, kind, ref, message, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (_now(), level.value, kind, str(ref) if ref else None, message,
                 json.dumps(data or {}, default=str)),
            )
            event_id = int(cur.lastrowid or 0)
            if event_id % 100 == 0:
                db.execute("DELETE FROM events WHERE id <= ?", (event_id - KEEP_EVENTS,))
            return event_id

    def events(self, limit: int = 100, after: int = 0, kind: str | None = None
               ) -> list[EventRecord]:
        """Newest first; ``after`` gives only events with a larger id (for tailing)."""
        sql = "SELECT * FROM events WHERE id > ?"
        args: list[Any] = [after]
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        rows = self._query(sql + " ORDER BY id DESC LIMIT ?", (*args, limit))
        return [
            EventRecord(id=r["id"], at=datetime.fromisoformat(r["at"]),
                        level=EventLevel(r["level"]), kind=r["kind"],
                        ref=ResourceRef.parse(r["ref"]) if r["ref"] else None,
                        message=r["message"], data=json.loads(r["data"]))
            for r in rows
        ]

    # -- webhook deliveries ---------------------------------------------------

    def first_delivery(self, provider: str, delivery: str, event: str = "") -> bool:
        """Remember a delivery id; False when it was seen before (a replay)."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO deliveries (provider, delivery, received_at, event) "
                "VALUES (?, ?, ?, ?)",
                (provider, delivery, _now(), event),
            )
            fresh = cur.rowcount == 1
            if fresh:
                db.execute(
                    """DELETE FROM deliveries WHERE rowid IN (SELECT rowid FROM deliveries
                           ORDER BY received_at DESC LIMIT -1 OFFSET ?)""",
                    (KEEP_DELIVERIES,),
                )
            return fresh

    def set_delivery_result(self, provider: str, delivery: str, result: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE deliveries SET result = ? WHERE provider = ? AND delivery = ?",
                       (result, provider, delivery))

    def deliveries(self, limit: int = 50) -> list[dict[str, str]]:
        rows = self._query("SELECT * FROM deliveries ORDER BY received_at DESC LIMIT ?",
                           (limit,))
        return [dict(r) for r in rows]

    # -- key-value (providers' last healthy configs) ----------------------------

    def kv_get(self, namespace: str, key: str) -> Any | None:
        rows = self._query("SELECT value FROM kv WHERE namespace = ? AND key = ?",
                           (namespace, key))
        return json.loads(rows[0]["value"]) if rows else None

    def kv_put(self, namespace: str, key: str, value: Any) -> None:
        with self._tx() as db:
            db.execute(
                """INSERT INTO kv (namespace, key, value, updated_at) VALUES (?, ?, ?, ?)
                   ON CONFLICT (namespace, key) DO UPDATE SET value=excluded.value,
                     updated_at=excluded.updated_at""",
                (namespace, key, json.dumps(value, sort_keys=True), _now()),
            )

    def kv_delete(self, namespace: str, key: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM kv WHERE namespace = ? AND key = ?", (namespace, key))

    def kv_items(self, namespace: str) -> dict[str, Any]:
        rows = self._query("SELECT key, value FROM kv WHERE namespace = ? ORDER BY key",
                           (namespace,))
        return {r["key"]: json.loads(r["value"]) for r in rows}

    # -- suspension -----------------------------------------------------------

    def suspend(self, ref: ResourceRef, reason: str = "") -> bool:
        """Suspend ``ref``; False when it already was."""
        with self._tx() as db:
            cur = db.execute("INSERT OR IGNORE INTO suspended (ref, since, reason) "
                             "VALUES (?, ?, ?)", (str(ref), _now(), reason))
            changed = cur.rowcount == 1
            if changed:
                self._bump(db)
        if changed:
            self._mirror_suspended()
        return changed

    def resume(self, ref: ResourceRef) -> bool:
        """Resume ``ref``; False when it was not suspended."""
        with self._tx() as db:
            changed = db.execute("DELETE FROM suspended WHERE ref = ?",
                                 (str(ref),)).rowcount == 1
            if changed:
                self._bump(db)
        if changed:
            self._mirror_suspended()
        return changed

    def suspended(self) -> dict[ResourceRef, SuspendedRecord]:
        rows = self._query("SELECT * FROM suspended ORDER BY ref")
        out: dict[ResourceRef, SuspendedRecord] = {}
        for r in rows:
            ref = ResourceRef.parse(r["ref"])
            out[ref] = SuspendedRecord(ref=ref, since=datetime.fromisoformat(r["since"]),
                                       reason=r["reason"])
        return out

    def control_version(self) -> int:
        """A number that changes whenever a control setting (suspension) changes.

        The runtime polls it cheaply to notice ``bosun suspend``/``resume`` run
        from another process.
        """
        rows = self._query("SELECT value FROM meta WHERE key = 'control_version'")
        return int(rows[0]["value"]) if rows else 0

    @staticmethod
    def _bump(db: sqlite3.Connection) -> None:
        db.execute(
            """INSERT INTO meta (key, value) VALUES ('control_version', '1')
               ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"""
        )

    def _mirror_suspended(self) -> None:
        body = {str(ref): rec.reason for ref, rec in self.suspended().items()}
        tmp = self.state_dir / f".{SUSPENDED_FILE}.tmp"
        tmp.write_text(json.dumps(body, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(self.state_dir / SUSPENDED_FILE)

    def _restore_suspended(self) -> None:
        path = self.state_dir / SUSPENDED_FILE
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if isinstance(body, dict):
            for ref_text, reason in body.items():
                with contextlib.suppress(ValueError):
                    self.suspend(ResourceRef.parse(ref_text), str(reason))


def _statements(script: str) -> list[str]:
    """Split a migration into statements (no semicolons inside literals here)."""
    out = []
    for part in script.split(";"):
        lines = [ln.split("--", 1)[0] for ln in part.splitlines()]
        text = "\n".join(lines).strip()
        if text:
            out.append(text)
    return out


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
