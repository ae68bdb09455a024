"""The state store's schema, as an ordered list of migrations.

Part of the state store. ``PRAGMA user_version`` holds how many migrations a
database has had; opening a store runs the missing ones in one transaction
each. Add a migration at the end, never edit one that shipped.
"""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: the first schema.
    """
    CREATE TABLE sources (
        name TEXT PRIMARY KEY,
        url TEXT NOT NULL,           -- credentials removed
        ref TEXT NOT NULL,
        state TEXT NOT NULL,         -- ok | failed
        message TEXT NOT NULL DEFAULT '',
        revision TEXT,               -- last revision read
        checked_at TEXT NOT NULL,
        succeeded_at TEXT
    );
    CREATE TABLE revisions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        source TEXT NOT NULL,
        revision TEXT NOT NULL,      -- main@sha1:<sha>
        ref TEXT NOT NULL,
        sha TEXT,
        message TEXT,
        seen_at TEXT NOT NULL,
        UNIQUE (source, revision)
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        revision TEXT NOT NULL,
        trigger TEXT NOT NULL,
        state TEXT NOT NULL,         -- see RunState
        started_at TEXT NOT NULL,
        finished_at TEXT,
        desired_digest TEXT,
        plan_digest TEXT,
        summary TEXT NOT NULL DEFAULT '',
        message TEXT NOT NULL DEFAULT '',
        changes TEXT NOT NULL DEFAULT '[]'   -- JSON: planned changes, one line each
    );
    CREATE INDEX runs_state ON runs (state);
    CREATE TABLE resources (
        ref TEXT PRIMARY KEY,        -- Kind/name
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        sync TEXT NOT NULL,
        health TEXT NOT NULL,
        applying_run INTEGER,        -- set while a change to it is being applied
        status TEXT NOT NULL,        -- JSON of ResourceStatus without history
        updated_at TEXT NOT NULL
    );
    CREATE TABLE resource_history (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ref TEXT NOT NULL,
        run_id INTEGER,
        revision TEXT NOT NULL,
        digest TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        result TEXT NOT NULL,
        changes TEXT NOT NULL DEFAULT '[]'
    );
    CREATE INDEX resource_history_ref ON resource_history (ref, id);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        level TEXT NOT NULL,         -- info | warning | error
        kind TEXT NOT NULL,          -- source | reconcile | apply | webhook | state | control
        ref TEXT,
        message TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '{}'
    );
    CREATE TABLE deliveries (
        provider TEXT NOT NULL,
        delivery TEXT NOT NULL,
        received_at TEXT NOT NULL,
        event TEXT NOT NULL DEFAULT '',
        result TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (provider, delivery)
    );
    CREATE TABLE kv (
        namespace TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,         -- JSON
        updated_at TEXT NOT NULL,
        PRIMARY KEY (namespace, key)
    );
    CREATE TABLE suspended (
        ref TEXT PRIMARY KEY,
        since TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
