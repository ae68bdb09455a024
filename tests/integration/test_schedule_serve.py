"""Schedules under ``bosun serve`` without an engine: http and reconcile actions, restarts.

Real Git remotes, the real runtime, state store and APScheduler, a real HTTP
server on loopback; the scheduler provider only (no Docker needed).
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from starlette.applications import Starlette

from providers.scheduler import SchedulerProvider
from providers.scheduler.engine import ScheduleEngine
from providers.scheduler.timing import cron_trigger, next_slot
from reconciler.api.routes import ApiConfig
from reconciler.api.routes import routes as api_routes
from reconciler.api.schedules import schedule_routes
from reconciler.model.common import ResourceRef
from reconciler.model.schedule import (
    ScheduleRunReason,
    ScheduleRunResult,
    ScheduleTrigger,
)
from reconciler.runtime import ReconcileRequest, Trigger
from reconciler.server import Service
from reconciler.state import StateStore
from tests.asgiserver import serving
from tests.gitrepo import Repo
from tests.schedules import BOSUN_YAML, finished, hit_server, ran, runs, schedule
from tests.serving import running_service, wait_for

BOSUN = Path(sys.executable).with_name("bosun")
TOKEN = "tok-9f3b2c-very-secret"
SECRET_YAML = """\
apiVersion: bosun/v1
kind: Secret
metadata: {name: api}
spec:
  from: env
  keys: {token: BOSUN_TEST_SCHEDULE_TOKEN}
"""


def _repo(tmp_path: Path, files: dict[str, str]) -> Repo:
    repo = Repo(tmp_path / "repo")
    repo.commit({"bosun.yaml": BOSUN_YAML.format(owner="schedtest"), **files})
    return repo


def test_http_every_second_records_history_with_secrets_redacted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOSUN_TEST_SCHEDULE_TOKEN", TOKEN)
    with hit_server() as server:
        action = (f'http: {{url: "{server.url}/ping", method: POST, body: hello, '
                  'headers: {X-Token: {secret: api, key: token}, X-Plain: visible}}')
        repo = _repo(tmp_path, {"ping.yaml": schedule("ping", "every: 1s", action,
                                                       history="3"),
                                "secret.yaml": SECRET_YAML})
        state = tmp_path / "state"
        with running_service(state, str(repo.remote), providers=("scheduler",)) as service:
            store: StateStore = service.app.state.store
            wait_for(lambda: server.count("/ping") >= 4 and len(ran(store, "ping")) == 3,
                     timeout=20, what="four runs")
        store = StateStore(state)
        history = finished(store, "ping")
    # Only spec.history runs are kept.
    assert len(history) == 3
    assert server.count("/ping") >= 4
    hit = server.hits[0]
    assert hit.method == "POST" and hit.body == b"hello"
    assert hit.headers["X-Token"] == TOKEN
    for run in history:
        assert run.result is ScheduleRunResult.SUCCEEDED, run
        assert run.reason is ScheduleRunReason.STATUS
        assert run.action == "http" and run.trigger is ScheduleTrigger.EVERY
        assert "HTTP 200" in run.message
        assert run.finished_at is not None and run.finished_at >= run.started_at
        assert '"/ping"' in run.output and "visible" in run.output
        assert TOKEN not in run.output and "(sensitive)" in run.output
    slots = [r.slot for r in runs(store, "ping")]
    assert len(set(slots)) == len(slots)
    # every: 1s slots are one second apart, counted from the registration.
    assert all(b - a >= timedelta(seconds=1) for a, b in itertools.pairwise(slots)
               if a and b)
    _check_status_cli_and_api(state, store)
    store.close()


def _check_status_cli_and_api(state: Path, store: StateStore) -> None:
    status = subprocess.run([str(BOSUN), "status", "--state-dir", str(state)],
                            capture_output=True, text=True, check=False, timeout=60)
    assert status.returncode == 0, status.stderr
    row = next(line for line in status.stdout.splitlines() if line.startswith("ping "))
    assert "every 1s" in row and "http" in row and "succeeded" in row
    shown = subprocess.run([str(BOSUN), "schedule", "runs", "ping", "--state-dir", str(state),
                            "--show-output"], capture_output=True, text=True, check=False,
                           timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "succeeded (status)" in shown.stdout and "(sensitive)" in shown.stdout
    assert TOKEN not in shown.stdout

    app = Starlette(routes=schedule_routes() + api_routes(ApiConfig()))
    app.state.store = store
    with serving(app) as url:
        overview = httpx.get(f"{url}/api/v1/schedules").json()["schedules"]
        assert [s["name"] for s in overview] == ["ping"]
        assert overview[0]["registered"] and overview[0]["when"] == "every 1s"
        assert overview[0]["next_run"] and overview[0]["last_run"]["result"] == "succeeded"
        body = httpx.get(f"{url}/api/v1/schedules/ping/runs", params={"output": "1"}).json()
        assert len(body["runs"]) == 3 and all("(sensitive)" in r["output"] for r in body["runs"])
        assert TOKEN not in json.dumps(body)
        brief = httpx.get(f"{url}/api/v1/schedules/ping/runs", params={"limit": "1"}).json()
        assert len(brief["runs"]) == 1 and brief["runs"][0]["output"] == ""
        assert httpx.get(f"{url}/api/v1/schedules/nope/runs").status_code == 404
        # The API's own page of runs reads the same rows.
        page = httpx.get(f"{url}/api/v1/schedules/runs", params={"schedule": "ping"}).json()
        assert [item["state"] for item in page["items"]] == ["succeeded"] * 3
        assert all(item["trigger"] == "every" and item["scheduled_at"] and item["exit_code"]
                   is None for item in page["items"])


def test_unexpected_status_fails_and_reconcile_action_only_enqueues(tmp_path: Path) -> None:
    with hit_server(status=503) as server:
        files = {
            "down.yaml": schedule("down", "every: 1s", f'http: {{url: "{server.url}/x"}}'),
            "sync.yaml": schedule("sync", "every: 1s", "reconcile: {resources: []}"),
        }
        repo = _repo(tmp_path, files)
        with running_service(tmp_path / "state", str(repo.remote),
                             providers=("scheduler",)) as service:
            store: StateStore = service.app.state.store
            wait_for(lambda: ran(store, "down") and len(ran(store, "sync")) >= 2,
                     what="runs of both schedules")
            wait_for(lambda: any(r.trigger == "schedule" for r in store.runs(50)),
                     what="a reconcile triggered by the schedule")
            down = ran(store, "down")[0]
            assert down.result is ScheduleRunResult.FAILED
            assert "HTTP 503" in down.message and "expected 200" in down.message
            sync = ran(store, "sync")[0]
            assert sync.result is ScheduleRunResult.SUCCEEDED
            assert sync.reason is ScheduleRunReason.QUEUED
            wait_for(lambda: _health(store, "down") == "Degraded", what="down is degraded")
        store.close()


def _health(store: StateStore, name: str) -> str:
    status = store.status(ResourceRef.parse(f"Schedule/{name}"))
    return status.health.state.value if status else ""


@pytest.mark.parametrize("missed", ["run-once", "skip"])
def test_restart_never_runs_a_slot_twice_and_handles_missed_slots(
        tmp_path: Path, missed: str) -> None:
    with hit_server() as server:
        action = f'http: {{url: "{server.url}/tick"}}'
        repo = _repo(tmp_path, {"tick.yaml": schedule("tick", "every: 1s", action,
                                                       missed=missed)})
        state = tmp_path / "state"
        with running_service(state, str(repo.remote), providers=("scheduler",)) as service:
            store: StateStore = service.app.state.store
            wait_for(lambda: len(ran(store, "tick")) >= 2, what="two runs")
        before = runs(StateStore(state), "tick")
        time.sleep(3.2)  # three or four slots pass while bosun is down
        with running_service(state, str(repo.remote), providers=("scheduler",)) as service:
            store = service.app.state.store
            wait_for(lambda: len(finished(store, "tick")) >= len(before) + 3,
                     what="runs after the restart")
        after = runs(StateStore(state), "tick")
    slots = [r.slot for r in after]
    assert len(slots) == len(set(slots)), "a slot was handled twice"
    assert all(r.result is not ScheduleRunResult.RUNNING for r in after)
    caught = [r for r in after[len(before):] if r.trigger is ScheduleTrigger.MISSED]
    assert len(caught) == 1, after
    gap = caught[0]
    if missed == "run-once":
        assert gap.result is ScheduleRunResult.SUCCEEDED
        assert "caught up once" in gap.message
    else:
        assert gap.result is ScheduleRunResult.SKIPPED
        assert gap.reason is ScheduleRunReason.MISSED
    # Every request the server saw is one run in the history, never more.
    assert server.count("/tick") == len([r for r in after
                                         if r.result is ScheduleRunResult.SUCCEEDED])
    # The missed slots came after the last slot before the restart.
    last_before = max(r.slot for r in before if r.slot)
    assert gap.slot is not None and gap.slot > last_before


def _engine(service: Service) -> ScheduleEngine:
    for provider in service.runtime.cycle.reconciler.providers:
        if isinstance(provider, SchedulerProvider) and provider.engine is not None:
            return provider.engine
    raise AssertionError("no running scheduler")


def test_plan_shows_cron_change_and_removal_then_runs_stop(tmp_path: Path) -> None:
    with hit_server() as server:
        def ping(path: str) -> str:
            return f'http: {{url: "{server.url}/{path}"}}'

        repo = _repo(tmp_path, {
            "often.yaml": schedule("often", "every: 1s", ping("often")),
            "nightly.yaml": schedule("nightly", 'cron: "0 3 * * *"', ping("nightly"),
                                     timezone="Asia/Shanghai"),
        })
        state = tmp_path / "state"
        with running_service(state, str(repo.remote), providers=("scheduler",)) as service:
            store: StateStore = service.app.state.store
            wait_for(lambda: ran(store, "often"), what="a run of often")
            engine = _engine(service)
            first = engine.registered()["nightly"][1]
            assert first is not None
            assert first.astimezone(ZoneInfo("Asia/Shanghai")).time() == dtime(3, 0)

            repo.write({"often.yaml": None,
                        "nightly.yaml": schedule("nightly", 'cron: "30 4 * * *"',
                                                 ping("nightly"), timezone="Asia/Shanghai")})
            # `bosun plan` in another process, against what serve registered.
            done = subprocess.run(
                [str(BOSUN), "plan", str(repo.work), "--state-dir", str(state),
                 "--provider", "scheduler", "--detailed-exitcode"],
                capture_output=True, text=True, check=False, timeout=60)
            assert done.returncode == 2, done.stdout + done.stderr
            text = done.stdout
            assert "- Schedule/often" in text
            assert "~ Schedule/nightly" in text
            assert '~ spec.cron: "0 3 * * *" -> "30 4 * * *"' in text
            shanghai = ZoneInfo("Asia/Shanghai")
            expected = next_slot(cron_trigger("30 4 * * *", "Asia/Shanghai"), datetime.now(UTC))
            assert expected is not None
            assert (f'~ nextRun: "{first.astimezone(shanghai).isoformat()}" -> '
                    f'"{expected.astimezone(shanghai).isoformat()}"') in text
            assert "Plan: 0 to add, 1 to change, 1 to destroy." in text

            repo.commit({}, "nightly at 4:30, often removed")
            service.runtime.submit(ReconcileRequest(Trigger.API, reason="test"))
            wait_for(lambda: "often" not in engine.registered(), what="often unregistered")
            later = engine.registered()["nightly"][1]
            assert later == expected
            hits = server.count("/often")
            time.sleep(2.5)
            assert server.count("/often") <= hits + 1  # at most one run already under way
            settled = server.count("/often")
            time.sleep(2)
            assert server.count("/often") == settled
        # Back in sync: the next plan has nothing to do.
        done = subprocess.run(
            [str(BOSUN), "plan", str(repo.work), "--state-dir", str(state),
             "--provider", "scheduler", "--detailed-exitcode"],
            capture_output=True, text=True, check=False, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "No changes." in done.stdout
