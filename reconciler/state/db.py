"""The state store's database: one SQLite file in WAL mode, opened safely.

Part of the state store. ``Database`` opens ``<state-dir>/state.db``, runs the
missing migrations (``schema``), and when the file cannot be used (not a
database, fails SQLite's quick check, written by a newer bosun) moves it aside
as ``state.db.broken-<time>`` and starts a fresh one: everything in it can be
rebuilt from Git and the engines, so a damaged store never stops bosun. One
connection per store, shared by threads under a lock; other processes open
their own and wait up to ``BUSY_TIMEOUT`` for a writer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from reconciler import logs
from reconciler.errors import BosunError
from reconciler.state.schema import MIGRATIONS, SCHEMA_VERSION

log = logging.getLogger("bosun.state")

DB_FILE = "state.db"
BUSY_TIMEOUT = 10.0


class Key(str):
    """A parameter that identifies (a ref, a name, a revision, a time): never scrubbed.

    Identities come from the repository, Git and the clock, never from a
    resolved value; scrubbing a coincidental substring of one (a password
    ``admin`` inside ``Stack/admin``) would only make the row unreadable.
    Enum members are left alone the same way.
    """

    __slots__ = ()


def _now() -> Key:
    return Key(datetime.now(UTC).isoformat())


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _clean_one(value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, Key | Enum):
        return logs.scrub_stored(value)
    return value


def _clean(args: Sequence[Any] | Mapping[str, Any]) -> Sequence[Any] | Mapping[str, Any]:
    if isinstance(args, Mapping):
        return {k: _clean_one(v) for k, v in args.items()}
    return tuple(_clean_one(v) for v in args)


class Writer:
    """A transaction's connection: every text it writes is scrubbed of secret values
    (but ``Key`` and enum parameters; see ``logs.scrub_stored`` for JSON).

    Scrubbing at write time, not only when rows are shown: rows are served
    again after a restart, before the secrets are resolved (and so known to
    the scrubber) anew.
    """

    __slots__ = ("_db", "_scrub")

    def __init__(self, db: sqlite3.Connection, scrub: bool = True) -> None:
        self._db = db
        self._scrub = scrub

    def execute(self, sql: str, args: Sequence[Any] | Mapping[str, Any] = ()) -> sqlite3.Cursor:
        return self._db.execute(sql, _clean(args) if self._scrub else args)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> sqlite3.Cursor:
        return self._db.executemany(sql, (_clean(r) if self._scrub else r for r in rows))


class StoreError(Exception):
    """The database could not be used; the store is moved aside and rebuilt."""


class StateDirError(BosunError):
    """The state folder itself cannot be used (missing permissions, full disk)."""


class Database:
    """The SQLite connection of a state store: opening, migrating, rebuilding, transactions.

    Subclasses add the tables' methods; ``_after_rebuild`` runs once a damaged
    store has been replaced by a fresh one.
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
        except sqlite3.OperationalError as exc:
            if not _is_damage(exc):
                # Busy or locked by another process: the file is fine, never move it.
                raise StateDirError(f"state store {self.path} is busy: {exc}") from None
            self.rebuilt_from = self._rebuild(exc)
        except (sqlite3.DatabaseError, StoreError) as exc:
            self.rebuilt_from = self._rebuild(exc)

    def _rebuild(self, exc: Exception) -> Path:
        try:
            moved = self._move_aside(str(exc))
            self._db = self._connect()
        except (OSError, sqlite3.DatabaseError) as again:
            raise StateDirError(f"cannot rebuild the state store in {self.state_dir}: "
                                f"{again}") from None
        self.rebuilt_from = moved
        self._after_rebuild(str(exc))
        return moved

    def _after_rebuild(self, reason: str) -> None:
        """Called once after a damaged store was moved aside and a fresh one made."""

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
            while version < SCHEMA_VERSION:
                # Another process (bosun serve, bosun status) may be migrating the
                # same file: read the version again under the write lock.
                db.execute("BEGIN IMMEDIATE")
                try:
                    version = int(db.execute("PRAGMA user_version").fetchone()[0])
                    if version < SCHEMA_VERSION:
                        for statement in _statements(MIGRATIONS[version]):
                            db.execute(statement)
                        version += 1
                        db.execute(f"PRAGMA user_version = {version}")
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
    def _tx(self, scrub: bool = True) -> Iterator[Writer]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield Writer(self._db, scrub)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._db.execute(sql, args).fetchall())


def _is_damage(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return not any(word in text for word in ("locked", "busy", "unable to open",
                                              "disk i/o", "readonly"))


def _statements(script: str) -> list[str]:
    """Split a migration into statements (no semicolons inside literals here)."""
    out = []
    for part in script.split(";"):
        lines = [ln.split("--", 1)[0] for ln in part.splitlines()]
        text = "\n".join(lines).strip()
        if text:
            out.append(text)
    return out


