"""The state store's control tables: events, webhook deliveries, key-value, suspension.

Part of the state store (see ``store``). Suspensions cannot be rebuilt from Git
or the engines, so they are mirrored in ``suspended.json`` beside the database
and restored from it when a damaged store is rebuilt.
"""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from typing import Any

from reconciler.model.common import ResourceRef
from reconciler.state.db import Database, Key, Writer, _now
from reconciler.state.records import EventLevel, EventRecord, SuspendedRecord

SUSPENDED_FILE = "suspended.json"
KEEP_EVENTS = 5000
KEEP_DELIVERIES = 5000


class ControlTables(Database):
    # -- events ---------------------------------------------------------------

    def add_event(self, kind: str, message: str, level: EventLevel = EventLevel.INFO,
                  ref: ResourceRef | None = None, data: dict[str, Any] | None = None) -> int:
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO events (at, level, kind, ref, message, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (_now(), level, Key(kind), Key(str(ref)) if ref else None, message,
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
                (Key(provider), Key(delivery), _now(), Key(event)),
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
                       (result, Key(provider), Key(delivery)))

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
        """Store a provider's value as given: it must hold no secret value.

        Not scrubbed like every other row: these are machine-readable records
        (a model to roll back to) that a coincidental replacement would break,
        so providers keep secrets out themselves (compose stores placeholders
        naming the secret, the scheduler references).
        """
        with self._tx(scrub=False) as db:
            db.execute(
                """INSERT INTO kv (namespace, key, value, updated_at) VALUES (?, ?, ?, ?)
                   ON CONFLICT (namespace, key) DO UPDATE SET value=excluded.value,
                     updated_at=excluded.updated_at""",
                (namespace, key, json.dumps(value, sort_keys=True), _now()),
            )

    def kv_delete(self, namespace: str, key: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM kv WHERE namespace = ? AND key = ?",
                       (Key(namespace), Key(key)))

    def kv_items(self, namespace: str) -> dict[str, Any]:
        rows = self._query("SELECT key, value FROM kv WHERE namespace = ? ORDER BY key",
                           (namespace,))
        return {r["key"]: json.loads(r["value"]) for r in rows}

    # -- suspension -----------------------------------------------------------

    def suspend(self, ref: ResourceRef, reason: str = "") -> bool:
        """Suspend ``ref``; False when it already was."""
        with self._tx() as db:
            cur = db.execute("INSERT OR IGNORE INTO suspended (ref, since, reason) "
                             "VALUES (?, ?, ?)", (Key(str(ref)), _now(), reason))
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
                                 (Key(str(ref)),)).rowcount == 1
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
    def _bump(db: Writer) -> None:
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


