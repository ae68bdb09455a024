"""The state store scrubs secret values when it writes, not only when it shows.

Rows are served again after a restart, before any secret is resolved (and so
known to the scrubber) anew: a value must never reach the database file. Every
write method gets the value in each free-text argument; the file, its rows and
what is read back must not hold it, while identities that merely contain a
short secret (``Stack/web-<value>``) stay readable.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

from reconciler import logs
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.schedule import ScheduleRun, ScheduleRunResult
from reconciler.model.sensitive import REDACTED, Sensitive
from reconciler.model.source import Revision
from reconciler.model.status import (
    Condition,
    ConditionType,
    Health,
    HealthState,
    HistoryEntry,
    ResourceDetails,
    ResourceStatus,
    Sync,
)
from reconciler.state import RunState, StateStore
from reconciler.state.status_tables import ScheduleRunState
from tests.secretscan import leaks


def _secret(text: str) -> str:
    logs.register(Sensitive(text))
    return text


def test_every_write_is_scrubbed_and_identities_stay_readable(tmp_path: Path) -> None:
    long = _secret(f"pw-{uuid.uuid4().hex}")
    short = _secret(uuid.uuid4().hex[:5])  # a weak secret that is also part of a name
    multiline = _secret(f"-----BEGIN KEY-----\n{uuid.uuid4().hex}\n\"quoted\"\n-----END KEY-----")
    ref = ResourceRef(kind=Kind.STACK, name=f"web-{short}")
    say = f"token {long} key {multiline} pin {short}"
    store = StateStore(tmp_path)
    rev = Revision(ref="main", sha="b" * 40, message=f"rotate: {long}")
    store.set_source("repository", "https://example.test/r.git", "main", ok=False,
                     message=say)
    store.set_source("repository", "https://example.test/r.git", "main", ok=True, revision=rev)
    run = store.start_run(str(rev), "poll")
    store.mark_applying(run, "sha256:plan", say, [f"+ {ref}: {say}"], [ref])
    store.finish_run(run, RunState.FAILED, message=say, summary=say)
    now = datetime.now(UTC)
    store.put_status(ResourceStatus(
        ref=ref, sync=Sync.OUT_OF_SYNC,
        health=Health(state=HealthState.DEGRADED, reason="LoginFailed", message=say),
        conditions=(Condition(type=ConditionType.STALLED, status=True, reason="ApplyFailed",
                              message=say, last_transition=now),),
        details=ResourceDetails(facts={"token": long, "name": multiline, short: "x"}),
        last_applied_revision=str(rev), digest="sha256:d"))
    store.add_history(ref, HistoryEntry(revision=str(rev), digest="sha256:d", started_at=now,
                                        result="failed", changes=(f"create failed: {say}",)))
    store.add_event("apply", say, ref=ref, data={"output": say, "lines": [long]})
    assert store.first_delivery("github", "d-1", "push")
    store.set_delivery_result("github", "d-1", say)
    store.suspend(ref, say)
    store.put_plan(run, {"revision": str(rev), "digest": "sha256:p", "summary": {"text": say},
                         "changes": [{"resource": str(ref), "action": "create", "reason": say,
                                      "diffs": [{"path": "spec.env.TOKEN", "after": long}]}]})
    sched = store.start_schedule_run("backup", "manual")
    store.finish_schedule_run(sched, ScheduleRunState.FAILED, 1, say, say)
    store.save_schedule_run(ScheduleRun(schedule="nightly", action="run", started_at=now,
                                        result=ScheduleRunResult.FAILED, message=say,
                                        output=say))
    store.close()

    for value in (long, multiline):
        assert leaks(tmp_path, value) == []

    again = StateStore(tmp_path)
    status = again.status(ref)
    assert status is not None and status.ref == ref  # the name holding `short` is intact
    assert status.health.message == f"token {REDACTED} key {REDACTED} pin {REDACTED}"
    assert status.details is not None
    assert status.details.facts == {"token": REDACTED, "name": REDACTED, REDACTED: "x"}
    assert [s.ref for s in again.statuses()] == [ref]
    assert list(again.suspended()) == [ref]
    assert again.history(ref)[0].changes == (
        f"create failed: token {REDACTED} key {REDACTED} pin {REDACTED}",)
    events = [e for e in again.events() if e.kind == "apply"]
    assert events[0].ref == ref and events[0].data["lines"] == [REDACTED]
    plan = again.plan_record()
    assert plan is not None and plan.body["changes"][0]["resource"] == str(ref)
    assert plan.body["changes"][0]["diffs"][0]["after"] == REDACTED
    assert again.last_changes(ref)  # found by its ref
    assert again.revisions()[0].message == f"rotate: {REDACTED}"
    assert again.runs()[0].state is RunState.FAILED
    again.close()


def test_a_value_inside_a_json_escape_leaves_valid_json(tmp_path: Path) -> None:
    # "n<hex>" occurs in the JSON text of "\n<hex>" (an escaped newline) but in
    # no string of the document: replacing it in the text would break the JSON.
    tail = uuid.uuid4().hex[:8]
    _secret(f"n{tail}")
    store = StateStore(tmp_path)
    store.add_event("apply", "multi-line output", data={"output": f"first\n{tail}"})
    store.add_event("apply", f"plain n{tail}")
    events = store.events()
    assert events[1].data == {"output": f"first\n{tail}"}
    assert events[0].message == f"plain {REDACTED}"
    store.close()


def test_provider_values_are_stored_as_given(tmp_path: Path) -> None:
    """kv rows are machine-readable records; providers keep secrets out of them."""
    word = _secret(f"img{uuid.uuid4().hex[:6]}")
    store = StateStore(tmp_path)
    store.kv_put("compose.stacks", "Stack/a", {"model": {"image": f"{word}:1"}})
    assert store.kv_get("compose.stacks", "Stack/a") == {"model": {"image": f"{word}:1"}}
    assert json.loads(json.dumps(store.kv_items("compose.stacks")))
    store.close()
