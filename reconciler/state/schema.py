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
    # 2: what the API and the dashboard read beyond statuses: the plans made,
    # schedule runs (written by the schedules runtime; see StatusTables for the
    # read model) and an index to list one resource's events.
    """
    CREATE TABLE plans (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER,
        revision TEXT NOT NULL,
        created_at TEXT NOT NULL,
        digest TEXT NOT NULL,
        summary TEXT NOT NULL,
        changes INTEGER NOT NULL DEFAULT 0,
        body TEXT NOT NULL           -- JSON: render.plan_json, sensitive values redacted
    );
    CREATE TABLE plan_changes (
        plan_id INTEGER NOT NULL,
        ref TEXT NOT NULL,
        action TEXT NOT NULL,
        body TEXT NOT NULL           -- JSON: one change of plan_json
    );
    CREATE INDEX plan_changes_ref ON plan_changes (ref, plan_id);
    CREATE INDEX plan_changes_plan ON plan_changes (plan_id);
    CREATE TABLE schedule_runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        schedule TEXT NOT NULL,      -- the Schedule's name
        trigger TEXT NOT NULL,       -- cron | every | manual | missed | api
        state TEXT NOT NULL,         -- see ScheduleRunState
        scheduled_at TEXT,           -- the tick this run is for
        started_at TEXT NOT NULL,
        finished_at TEXT,
        exit_code INTEGER,
        message TEXT NOT NULL DEFAULT '',
        output TEXT NOT NULL DEFAULT ''   -- the end of its output, secrets scrubbed
    );
    CREATE INDEX schedule_runs_schedule ON schedule_runs (schedule, id);
    CREATE INDEX events_ref ON events (ref, id);
    """,
    # 3: what the scheduler records of each run beyond migration 2's columns
    # (see reconciler/state/schedule_runs.py for every column). Its rows use
    # scheduled_at for the slot and state for the result.
    """
    ALTER TABLE schedule_runs ADD COLUMN action TEXT NOT NULL DEFAULT '';
    ALTER TABLE schedule_runs ADD COLUMN revision TEXT;
    ALTER TABLE schedule_runs ADD COLUMN reason TEXT NOT NULL DEFAULT '';
    ALTER TABLE schedule_runs ADD COLUMN output_truncated INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX schedule_runs_state ON schedule_runs (state)
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)
