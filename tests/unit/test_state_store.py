"""The SQLite state store: persistence, migrations, rebuild after damage."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from reconciler.model.common import Kind, ResourceRef
from reconciler.model.source import Revision
from reconciler.model.status import Health, HealthState, HistoryEntry, ResourceStatus, Sync
from reconciler.state import RunState, StateStore
from reconciler.state.schema import SCHEMA_VERSION

BLOG = ResourceRef(kind=Kind.STACK, name="blog")


def test_survives_restart_in_wal_mode(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    rev = Revision(ref="main", sha="a" * 40, message="first")
    store.set_source("repository", "https://example.test/r.git", "main", ok=True, revision=rev)
    store.put_status(ResourceStatus(ref=BLOG, sync=Sync.SYNCED,
                                    health=Health(state=HealthState.HEALTHY)))
    store.add_history(BLOG, HistoryEntry(revision=str(rev), digest="d1",
                                         started_at=datetime.now(UTC), result="applied"))
    store.kv_put("compose.last-healthy", str(BLOG), {"services": {"web": {"image": "x"}}})
    store.suspend(ResourceRef(kind=Kind.ROUTE, name="blog"), "maintenance")
    store.close()

    again = StateStore(tmp_path)
    assert again.rebuilt_from is None
    mode = sqlite3.connect(tmp_path / "state.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert again.source("repository") is not None
    assert again.source("repository").revision == f"main@sha1:{'a' * 40}"  # type: ignore[union-attr]
    status = again.status(BLOG)
    assert status is not None and status.sync is Sync.SYNCED
    assert status.history[0].digest == "d1"
    assert again.kv_get("compose.last-healthy", str(BLOG)) == {"services": {"web": {"image": "x"}}}
    assert again.kv_items("compose.last-healthy") == {str(BLOG): {"services": {"web":
                                                                                {"image": "x"}}}}
    assert list(again.suspended()) == [ResourceRef(kind=Kind.ROUTE, name="blog")]
    assert [r.revision for r in again.revisions()] == [f"main@sha1:{'a' * 40}"]


def test_corrupt_store_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.suspend(BLOG, "hands off")
    store.close()
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"state.db{suffix}").unlink(missing_ok=True)
    (tmp_path / "state.db").write_bytes(b"this is not a database" * 500)
    rebuilt = StateStore(tmp_path)
    assert rebuilt.rebuilt_from is not None and rebuilt.rebuilt_from.exists()
    assert rebuilt.suspended()[BLOG].reason == "hands off", "suspensions survive a rebuild"
    assert any("rebuilt" in e.message for e in rebuilt.events())
    rebuilt.close()
    assert StateStore(tmp_path).rebuilt_from is None, "the rebuilt store opens cleanly"


def test_missing_store_and_newer_schema(tmp_path: Path) -> None:
    StateStore(tmp_path).close()
    (tmp_path / "state.db").unlink()
    assert StateStore(tmp_path).rebuilt_from is None
    db = sqlite3.connect(tmp_path / "state.db")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    db.close()
    newer = StateStore(tmp_path)
    assert newer.rebuilt_from is not None
    assert newer.events()[0].message.count("newer") == 1


def test_runs_interrupted_and_applying_marks(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.put_status(ResourceStatus(ref=BLOG))
    run = store.start_run("main@sha1:" + "b" * 40, "webhook", "sha256:x")
    store.mark_applying(run, "sha256:p", "Plan: 1 to add", ["+ Stack/blog: new"], [BLOG])
    assert store.interrupted_refs() == [BLOG]
    store.close()
    again = StateStore(tmp_path)
    interrupted = again.recover_interrupted()
    assert [r.id for r in interrupted] == [run]
    record = again.run(run)
    assert record is not None and record.state is RunState.INTERRUPTED
    assert record.changes == ("+ Stack/blog: new",)
    assert again.recover_interrupted() == []
    done = again.start_run("main@sha1:" + "c" * 40, "poll")
    again.mark_applying(done, "p", "s", [], [BLOG])
    again.finish_run(done, RunState.SUCCEEDED)
    assert again.interrupted_refs() == []
    assert again.runs(1)[0].state is RunState.SUCCEEDED


def test_deliveries_and_control_version(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    assert store.first_delivery("github", "abc", "push")
    assert not store.first_delivery("github", "abc", "push")
    assert store.first_delivery("gitlab", "abc", "Push Hook")
    v0 = store.control_version()
    assert store.suspend(BLOG) and not store.suspend(BLOG)
    other = StateStore(tmp_path)  # another process, e.g. `bosun resume`
    assert other.resume(BLOG) and not other.resume(BLOG)
    assert store.control_version() == v0 + 2
    assert store.suspended() == {}
