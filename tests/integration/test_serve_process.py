"""``bosun serve`` as a real process: SIGTERM stops it cleanly, its state survives restarts."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from reconciler.state import RunState, StateStore
from tests.gitrepo import Repo
from tests.integration.test_serve_memory import BOSUN_YAML, applied_version, stack
from tests.serving import wait_for

BOSUN = Path(sys.executable).with_name("bosun")


def serve(repo: Repo, state: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BOSUN), "serve", "--repo", str(repo.remote), "--state-dir", str(state),
         "--listen", "127.0.0.1:0", "--interval", "1s", "--provider", "memory", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_sigterm_stops_cleanly_and_state_survives_a_restart(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    first = repo.commit({"bosun.yaml": BOSUN_YAML, "web.yaml": stack("1")})
    state = tmp_path / "state"
    proc = serve(repo, state)
    try:
        wait_for(lambda: applied_version(state) == "1", what="first revision applied")
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "SIGTERM received: stopping cleanly" in output
    assert "bosun stopped cleanly" in output
    store = StateStore(state)
    assert not store.runs(50, RunState.APPLYING) and not store.runs(50, RunState.PLANNING)
    status = store.statuses()
    assert [str(s.ref) for s in status] == ["Stack/web"]
    assert status[0].last_applied_revision == f"main@sha1:{first}"
    store.close()

    second = repo.commit({"web.yaml": stack("2")})
    proc = serve(repo, state)
    try:
        wait_for(lambda: applied_version(state) == "2", what="second revision applied")
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    store = StateStore(state)
    assert store.rebuilt_from is None
    assert not any("interrupted" in e.message for e in store.events(100))
    entries = store.history(status[0].ref)
    assert [e.revision for e in entries][:2] == [f"main@sha1:{second}", f"main@sha1:{first}"]
    store.close()


def test_a_damaged_store_is_rebuilt_from_git_and_the_engines(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "repo")
    sha = repo.commit({"bosun.yaml": BOSUN_YAML, "web.yaml": stack("1")})
    state = tmp_path / "state"
    proc = serve(repo, state)
    try:
        wait_for(lambda: applied_version(state) == "1", what="first revision applied")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    for suffix in ("-wal", "-shm"):
        (state / f"state.db{suffix}").unlink(missing_ok=True)
    (state / "state.db").write_bytes(b"\0garbage" * 4096)
    proc = serve(repo, state)
    try:
        def rebuilt() -> bool:
            store = StateStore(state)
            try:
                found = [s for s in store.statuses() if s.last_applied_revision]
                return bool(found) and found[0].last_applied_revision == f"main@sha1:{sha}"
            finally:
                store.close()

        # Only bosun opens the store until it has moved the damaged one aside.
        wait_for(lambda: list(state.glob("state.db.broken-*")), what="the store moved aside")
        wait_for(rebuilt, what="statuses rebuilt from Git and the engines")
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "is unusable" in output
    assert list(state.glob("state.db.broken-*"))
    store = StateStore(state)
    assert any("rebuilt" in e.message for e in store.events(100))
    store.close()
