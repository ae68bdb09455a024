"""Schedules against real Docker: run and exec actions, concurrency, timeouts, history.

``bosun serve`` runs in-process with the compose and scheduler providers; a
Git remote holds a stack (a long-running ``app`` and a ``job`` service in an
inactive profile) and the schedules. Names are unique per test; every
project is brought down at the end.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import docker
import pytest

from providers.compose.cli import compose_command
from reconciler.model.schedule import (
    ScheduleRun,
    ScheduleRunReason,
    ScheduleRunResult,
    ScheduleTrigger,
)
from reconciler.state import StateStore
from tests.gitrepo import Repo
from tests.schedules import BOSUN_YAML, finished, ran, schedule, unique
from tests.serving import running_service, wait_for

pytestmark = pytest.mark.docker

BOSUN = Path(sys.executable).with_name("bosun")
TOKEN = "run-secret-5d1e0a77"
SECRET_YAML = """\
apiVersion: bosun/v1
kind: Secret
metadata: {name: job}
spec:
  from: env
  keys: {token: BOSUN_TEST_RUN_TOKEN}
"""


def stack_yaml(name: str) -> str:
    return f"""\
apiVersion: bosun/v1
kind: Stack
metadata: {{name: {name}}}
spec:
  compose:
    services:
      app:
        image: bosun.local/busybox:1
        command: [sleep, "3600"]
        volumes: ["data:/data"]
      job:
        image: bosun.local/busybox:1
        profiles: [jobs]
        command: [echo, "default command"]
        volumes: ["data:/data"]
    volumes:
      data: {{}}
"""


@pytest.fixture
def project() -> Iterator[str]:
    name = unique("sched")
    yield name
    subprocess.run([*compose_command(), "--project-name", name, "down", "--volumes",
                    "--remove-orphans", "--timeout", "0"], capture_output=True, check=False,
                   cwd="/")
    client = docker.APIClient()
    for c in client.containers(all=True, filters={"label": f"com.docker.compose.project={name}"}):
        client.remove_container(c["Id"], force=True)
    client.close()


def _containers(project: str, service: str, oneoff: bool) -> list[dict[str, object]]:
    client = docker.APIClient()
    try:
        return [c for c in client.containers(all=True, filters={"label": [
            f"com.docker.compose.project={project}", f"com.docker.compose.service={service}"]})
            if (c["Labels"].get("com.docker.compose.oneoff") == "True") == oneoff]
    finally:
        client.close()


def _overlap(a: ScheduleRun, b: ScheduleRun) -> bool:
    assert a.finished_at is not None and b.finished_at is not None
    return a.started_at < b.finished_at and b.started_at < a.finished_at


def test_run_every_2s_and_exec_record_exit_codes_and_output(
        tmp_path: Path, project: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOSUN_TEST_RUN_TOKEN", TOKEN)
    run = (f"run: {{stack: {project}, service: job, "
           "command: 'echo token=$TOKEN; echo data:; ls /data; exit 3', "
           "env: {TOKEN: {secret: job, key: token}, PLAIN: x}}")
    exec_action = f"exec: {{stack: {project}, service: app, command: [sh, -c, 'echo hi; exit 4']}}"
    repo = Repo(tmp_path / "repo")
    repo.commit({"bosun.yaml": BOSUN_YAML.format(owner=project), "stack.yaml": stack_yaml(project),
                 "secret.yaml": SECRET_YAML,
                 "often.yaml": schedule("often", "every: 2s", run),
                 "poke.yaml": schedule("poke", "every: 2s", exec_action)})
    state = tmp_path / "state"
    with running_service(state, str(repo.remote), providers=("compose", "scheduler")) as service:
        store: StateStore = service.app.state.store
        wait_for(lambda: _containers(project, "app", oneoff=False), what="the stack is up")
        app_id = _containers(project, "app", oneoff=False)[0]["Id"]
        wait_for(lambda: len(ran(store, "often")) >= 2 and ran(store, "poke"), timeout=60,
                 what="two runs and an exec")
        often = ran(store, "often")
        poke = ran(store, "poke")[0]
    for r in often:
        assert r.action == "run"
        assert r.result is ScheduleRunResult.FAILED and r.reason is ScheduleRunReason.EXIT
        assert r.exit_code == 3
        assert "token=(sensitive)" in r.output and TOKEN not in r.output
        assert "data:" in r.output
        assert r.finished_at is not None and r.finished_at - r.started_at < timedelta(seconds=20)
    assert often[1].slot and often[0].slot and often[1].slot > often[0].slot
    assert poke.exit_code == 4 and poke.output.strip() == "hi"
    assert poke.result is ScheduleRunResult.FAILED
    # Runs leave no container behind and do not disturb the stack's own containers.
    wait_for(lambda: not _containers(project, "job", oneoff=True), timeout=10,
             what="run containers removed")
    assert _containers(project, "app", oneoff=False)[0]["Id"] == app_id
    assert not _containers(project, "job", oneoff=False)


def test_forbid_skips_replace_stops_timeout_fails(tmp_path: Path, project: str) -> None:
    def run(command: str) -> str:
        return f"run: {{stack: {project}, service: job, command: '{command}'}}"

    repo = Repo(tmp_path / "repo")
    repo.commit({
        "bosun.yaml": BOSUN_YAML.format(owner=project), "stack.yaml": stack_yaml(project),
        "forbid.yaml": schedule("forbid", "every: 1s", run("sleep 2.5; echo done"),
                                concurrency="forbid"),
        # Long enough to be replaced by the next slot, short enough not to hold up the stop.
        "replace.yaml": schedule("replace", "every: 2s", run("echo started; sleep 6"),
                                 concurrency="replace"),
        "slow.yaml": schedule("slow", "every: 3s", run("echo started; sleep 30"),
                              timeout="1500ms"),
    })
    state = tmp_path / "state"
    with running_service(state, str(repo.remote), providers=("compose", "scheduler")) as service:
        store: StateStore = service.app.state.store
        wait_for(lambda: len(ran(store, "forbid")) >= 2
                 and any(r.reason is ScheduleRunReason.CONCURRENCY
                         for r in finished(store, "forbid"))
                 and ran(store, "replace") and ran(store, "slow"),
                 timeout=90, what="forbid, replace and timeout outcomes")
        forbid = finished(store, "forbid")
        replaced = ran(store, "replace")[0]
        slow = ran(store, "slow")[0]
    done = [r for r in forbid if r.result is not ScheduleRunResult.SKIPPED]
    skipped = [r for r in forbid if r.result is ScheduleRunResult.SKIPPED]
    assert all(r.result is ScheduleRunResult.SUCCEEDED and "done" in r.output for r in done)
    assert all(r.reason is ScheduleRunReason.CONCURRENCY and "still running" in r.message
               for r in skipped)
    assert not any(_overlap(a, b) for a in done for b in done if a is not b)

    assert replaced.result is ScheduleRunResult.FAILED
    assert replaced.reason is ScheduleRunReason.REPLACED, replaced
    assert "started" in replaced.output
    assert replaced.finished_at is not None
    assert replaced.finished_at - replaced.started_at < timedelta(seconds=15)

    assert slow.result is ScheduleRunResult.FAILED and slow.reason is ScheduleRunReason.TIMEOUT
    assert slow.exit_code == 137, slow
    assert "1500ms" in slow.message and "started" in slow.output
    assert slow.finished_at is not None
    assert slow.finished_at - slow.started_at < timedelta(seconds=15)
    wait_for(lambda: not _containers(project, "job", oneoff=True), timeout=15,
             what="stopped runs removed")


def _serve(repo: Repo, state: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BOSUN), "serve", "--repo", str(repo.remote), "--state-dir", str(state),
         "--listen", "127.0.0.1:0", "--interval", "1h", "--provider", "compose",
         "--provider", "scheduler", "--stop-timeout", "20s"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _history(state: Path, name: str) -> list[ScheduleRun]:
    store = StateStore(state)
    try:
        return list(reversed(store.schedule_history(name, 1000)))
    finally:
        store.close()


def test_serve_killed_mid_run_then_restarted(tmp_path: Path, project: str) -> None:
    """SIGKILL while a container runs: the restart cleans up and never repeats a slot."""
    repo = Repo(tmp_path / "repo")
    repo.commit({
        "bosun.yaml": BOSUN_YAML.format(owner=project), "stack.yaml": stack_yaml(project),
        "nap.yaml": schedule("nap", "every: 2s",
                             f"run: {{stack: {project}, service: job, "
                             "command: 'echo nap; sleep 3'}", missed="run-once"),
    })
    state = tmp_path / "state"
    proc = _serve(repo, state)
    try:
        wait_for(lambda: _containers(project, "job", oneoff=True), timeout=60,
                 what="a run container")
        wait_for(lambda: any(r.result is ScheduleRunResult.RUNNING
                             for r in _history(state, "nap")), what="a run recorded")
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    orphan = _containers(project, "job", oneoff=True)
    assert orphan, "the container of the killed run is still there"
    killed = [r for r in _history(state, "nap") if r.result is ScheduleRunResult.RUNNING]
    time.sleep(2.5)  # a slot passes while bosun is down

    proc = _serve(repo, state)
    try:
        wait_for(lambda: not any(c["Id"] == orphan[0]["Id"]
                                 for c in _containers(project, "job", oneoff=True)),
                 timeout=60, what="the leftover container removed")
        wait_for(lambda: any(r.trigger is ScheduleTrigger.MISSED
                             and r.result is ScheduleRunResult.SUCCEEDED
                             for r in _history(state, "nap")),
                 timeout=60, what="the missed slot caught up once")
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    history = _history(state, "nap")
    by_id = {r.id: r for r in history}
    for run in killed:
        assert by_id[run.id].result is ScheduleRunResult.INTERRUPTED
    slots = [r.slot for r in history]
    assert len(slots) == len(set(slots)), "a slot was handled twice"
    assert len([r for r in history if r.trigger is ScheduleTrigger.MISSED]) == 1
    assert all(r.result is not ScheduleRunResult.RUNNING for r in history)
    wait_for(lambda: not _containers(project, "job", oneoff=True), timeout=30,
             what="no run container left after a clean stop")
