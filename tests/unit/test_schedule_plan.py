"""The scheduler provider outside bosun serve: plan and apply against the state store.

Four steps (plan shows it, apply registers it, plan again is empty, a change
shows its diffs and next run), removals, owners, and an unreadable store.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from providers.scheduler import SchedulerProvider
from providers.scheduler.jobs import JobBook, RegisteredJob
from providers.scheduler.planner import JobState, ScheduleObservation, plan_schedules
from providers.scheduler.timing import cron_trigger, next_slot, show
from reconciler.errors import ObserveError
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.plan import ChangeAction, ChangeOutcome
from reconciler.pipeline import load_desired
from reconciler.provider import ProviderContext
from reconciler.secrets import Secrets
from reconciler.state import StateStore
from tests.schedules import schedule

BOSUN = "apiVersion: bosun/v1\nkind: Repository\nmetadata: {name: r}\nspec: {owner: unit}\n"
PING = 'http: {url: "http://127.0.0.1:9/ping"}'
NIGHTLY = ResourceRef(kind=Kind.SCHEDULE, name="nightly")


def write(root: Path, files: dict[str, str | None]) -> None:
    for name, text in files.items():
        if text is None:
            (root / name).unlink()
        else:
            (root / name).write_text(text)


def context(root: Path, store: StateStore) -> ProviderContext:
    return ProviderContext(state_dir=root / ".bosun", owner="unit",
                           secrets=Secrets(load_desired(root)), kv=store)


def test_plan_apply_plan_change_delete(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    write(root, {"bosun.yaml": BOSUN,
                 "nightly.yaml": schedule("nightly", 'cron: "0 3 * * *"', PING,
                                          timezone="Asia/Shanghai")})
    store = StateStore(tmp_path / "state")
    provider = SchedulerProvider()
    desired = load_desired(root)
    ctx = context(root, store)

    changes = provider.plan(desired, provider.observe(desired, ctx), ctx)
    assert [(c.action, c.ref) for c in changes] == [(ChangeAction.CREATE, NIGHTLY)]
    expected = next_slot(cron_trigger("0 3 * * *", "Asia/Shanghai"), datetime.now(UTC))
    assert changes[0].details[1] == f"first run {show(expected, 'Asia/Shanghai')}"
    results = provider.apply(changes, desired, ctx)
    assert results[0].outcome is ChangeOutcome.APPLIED
    assert "runs while bosun serve runs" in results[0].message
    assert provider.plan(desired, provider.observe(desired, ctx), ctx) == []

    write(root, {"nightly.yaml": schedule("nightly", 'cron: "30 4 * * *"', PING,
                                          timezone="Asia/Shanghai", timeout="5m")})
    desired = load_desired(root)
    changes = provider.plan(desired, provider.observe(desired, ctx), ctx)
    assert [c.action for c in changes] == [ChangeAction.UPDATE]
    diffs = {d.path: (d.before, d.after) for d in changes[0].diffs}
    assert diffs["spec.cron"] == ("0 3 * * *", "30 4 * * *")
    assert diffs["spec.timeout"] == (None, "5m")
    later = next_slot(cron_trigger("30 4 * * *", "Asia/Shanghai"), datetime.now(UTC))
    assert diffs["nextRun"] == (show(expected, "Asia/Shanghai"), show(later, "Asia/Shanghai"))
    provider.apply(changes, desired, ctx)
    assert provider.plan(desired, provider.observe(desired, ctx), ctx) == []
    assert store.schedules_overview()[0].next_run == later

    # A change that leaves the timing alone keeps the next run where it was.
    write(root, {"nightly.yaml": schedule("nightly", 'cron: "30 4 * * *"', PING,
                                          timezone="Asia/Shanghai", timeout="9m")})
    desired = load_desired(root)
    changes = provider.plan(desired, provider.observe(desired, ctx), ctx)
    assert [d.path for d in changes[0].diffs] == ["spec.timeout"]

    write(root, {"nightly.yaml": None})
    desired = load_desired(root)
    changes = provider.plan(desired, provider.observe(desired, ctx), ctx)
    assert [(c.action, c.ref) for c in changes] == [(ChangeAction.DELETE, NIGHTLY)]
    assert changes[0].diffs[0].path == "nextRun" and changes[0].diffs[0].after is None
    provider.apply(changes, desired, ctx)
    assert provider.plan(desired, provider.observe(desired, ctx), ctx) == []
    assert JobBook(store).jobs() == {}
    store.close()


def test_other_owners_jobs_are_left_alone_and_strays_are_removed(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    write(root, {"bosun.yaml": BOSUN})
    desired = load_desired(root)
    now = datetime.now(UTC)
    theirs = RegisteredJob(name="theirs", owner="someone-else",
                           spec={"every": "1m", "action": {"reconcile": {}}}, anchor=now,
                           registered_at=now)
    observed = ScheduleObservation(jobs={"theirs": JobState(job=theirs)}, serving=True,
                                   strays=("ghost",))
    changes = plan_schedules(desired, observed, "unit")
    assert [(c.action, c.ref.name) for c in changes] == [(ChangeAction.DELETE, "ghost")]


def test_a_job_the_running_scheduler_lacks_is_planned_again(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    write(root, {"bosun.yaml": BOSUN, "often.yaml": schedule("often", "every: 1m", PING)})
    desired = load_desired(root)
    res = desired.get(ResourceRef(kind=Kind.SCHEDULE, name="often"))
    assert res is not None
    now = datetime.now(UTC)
    job = RegisteredJob(name="often", owner="unit",
                        spec=res.document.spec.model_dump(mode="json", by_alias=True,
                                                          exclude_none=True),
                        anchor=now, registered_at=now)
    held = ScheduleObservation(jobs={"often": JobState(job=job, scheduled=True)}, serving=True)
    assert plan_schedules(desired, held, "unit") == []
    lost = ScheduleObservation(jobs={"often": JobState(job=job, scheduled=False)}, serving=True)
    changes = plan_schedules(desired, lost, "unit")
    assert [c.action for c in changes] == [ChangeAction.UPDATE]
    assert "not held by the running scheduler" in changes[0].reason


def test_without_a_state_store_nothing_is_assumed(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    write(root, {"bosun.yaml": BOSUN})
    desired = load_desired(root)
    ctx = ProviderContext(state_dir=tmp_path, owner="unit", secrets=Secrets(desired))
    with pytest.raises(ObserveError):
        SchedulerProvider().observe(desired, ctx)


def test_an_unreadable_registration_is_an_observe_error(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.kv_put("scheduler.jobs", "broken", {"name": "broken"})
    with pytest.raises(ObserveError, match="broken"):
        JobBook(store).jobs()
    store.close()


def test_suspend_is_a_change_with_no_next_run(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    write(root, {"bosun.yaml": BOSUN, "often.yaml": schedule("often", "every: 10m", PING)})
    store = StateStore(tmp_path / "state")
    provider = SchedulerProvider()
    ctx = context(root, store)
    desired = load_desired(root)
    provider.apply(provider.plan(desired, provider.observe(desired, ctx), ctx), desired, ctx)
    write(root, {"often.yaml": schedule("often", "every: 10m", PING, suspend="true")})
    desired = load_desired(root)
    observed = provider.observe(desired, ctx)
    changes = provider.plan(desired, observed, ctx)
    diffs = {d.path: (d.before, d.after) for d in changes[0].diffs}
    assert diffs["spec.suspend"] == (False, True)
    before, after = diffs["nextRun"]
    assert before is not None and after is None
    results = provider.apply(changes, desired, ctx)
    assert results[0].message.endswith("suspended")
    health = provider.health(desired, provider.observe(desired, ctx), ctx)
    assert health[ResourceRef(kind=Kind.SCHEDULE, name="often")].state.value == "Suspended"
    store.close()
