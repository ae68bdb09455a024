"""The state store's ``schedule_runs`` table: rows, pruning, interruption, migration."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from reconciler.model.schedule import (
    ScheduleRun,
    ScheduleRunReason,
    ScheduleRunResult,
    ScheduleTrigger,
)
from reconciler.state import StateStore
from reconciler.state.schema import MIGRATIONS, SCHEMA_VERSION

NOW = datetime(2025, 5, 1, 3, 0, tzinfo=UTC)


def run(n: int, result: ScheduleRunResult = ScheduleRunResult.SUCCEEDED) -> ScheduleRun:
    return ScheduleRun(schedule="backup", slot=NOW + timedelta(minutes=n), action="run",
                       started_at=NOW + timedelta(minutes=n), result=result,
                       finished_at=None if result is ScheduleRunResult.RUNNING
                       else NOW + timedelta(minutes=n, seconds=3),
                       reason=ScheduleRunReason.EXIT, exit_code=0, output=f"run {n}\n")


def test_rows_round_trip_and_history_is_pruned_per_schedule(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    running = store.save_schedule_run(run(0, ScheduleRunResult.RUNNING), keep=2)
    for n in range(1, 6):
        store.save_schedule_run(run(n), keep=2)
    store.save_schedule_run(ScheduleRun(schedule="other", action="http", started_at=NOW),
                            keep=1)
    kept = store.schedule_history("backup", 100)
    # The newest two finished runs stay, and the one still running is never pruned.
    assert [r.output for r in kept] == ["run 5\n", "run 4\n", "run 0\n"]
    assert kept[0].slot == NOW + timedelta(minutes=5) and kept[0].seconds == 3.0
    assert kept[0].trigger is ScheduleTrigger.EVERY
    brief = store.schedule_history("backup", 1, output=False)
    assert brief[0].output == "" and brief[0].exit_code == 0

    done = run(0).model_copy(update={"id": running, "exit_code": 3,
                                     "result": ScheduleRunResult.FAILED})
    assert store.save_schedule_run(done, keep=2) == running
    assert [r.id for r in store.schedule_history("backup", 100)][-1] != running
    assert store.schedule_names() == ["backup", "other"]
    store.save_schedule_run(run(9).model_copy(update={"result": ScheduleRunResult.SKIPPED}))
    last = store.last_schedule_runs()
    assert last["backup"].output == "" and last["backup"].slot == NOW + timedelta(minutes=5)
    assert "other" not in last  # still running
    store.close()


def test_runs_left_running_are_interrupted_at_start_up(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    first = store.save_schedule_run(run(1, ScheduleRunResult.RUNNING))
    store.save_schedule_run(run(2))
    store.close()
    again = StateStore(tmp_path)
    found = again.interrupt_schedule_runs("bosun stopped")
    assert [r.id for r in found] == [first]
    row = again.schedule_run(first)
    assert row is not None and row.result is ScheduleRunResult.INTERRUPTED
    assert row.reason is ScheduleRunReason.STOPPING and row.finished_at is not None
    assert again.interrupt_schedule_runs("again") == []
    again.close()


def test_overview_joins_registrations_slots_and_last_runs(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.kv_put("scheduler.jobs", "backup", {
        "name": "backup", "owner": "o", "revision": "main@sha1:abc",
        "spec": {"cron": "0 3 * * *", "timezone": "Europe/Berlin",
                 "action": {"run": {"stack": "s", "service": "b"}}},
        "anchor": NOW.isoformat(), "registered_at": NOW.isoformat()})
    store.kv_put("scheduler.slots", "backup", {"slot": NOW.isoformat(),
                                               "next": (NOW + timedelta(days=1)).isoformat()})
    store.save_schedule_run(run(1))
    store.save_schedule_run(ScheduleRun(schedule="gone", action="http", started_at=NOW))
    overview = {s.name: s for s in store.schedules_overview()}
    backup = overview["backup"]
    assert backup.registered and backup.when == "cron 0 3 * * * (Europe/Berlin)"
    assert backup.action == "run" and backup.next_run == NOW + timedelta(days=1)
    assert backup.last_run is not None and backup.last_run.output == ""
    assert not overview["gone"].registered and overview["gone"].next_run is None
    store.close()


def test_a_version_1_store_is_migrated(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "state.db")
    db.executescript(MIGRATIONS[0])
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    store = StateStore(tmp_path)
    assert store.rebuilt_from is None
    store.save_schedule_run(run(1))
    assert len(store.schedule_history("backup")) == 1
    version = sqlite3.connect(tmp_path / "state.db").execute("PRAGMA user_version").fetchone()
    assert version[0] == SCHEMA_VERSION
    store.close()
