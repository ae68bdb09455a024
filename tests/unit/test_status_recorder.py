"""The record stage's listener: Reconciling steps, transition times, drift, the live feed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from reconciler.model.common import Kind, ResourceRef
from reconciler.model.status import (
    Condition,
    ConditionType,
    Health,
    HealthState,
    ResourceStatus,
    Sync,
)
from reconciler.state import StateStore
from reconciler.status import StatusFeed, StatusRecorder

WEB = ResourceRef(kind=Kind.STACK, name="web")
EARLIER = datetime(2024, 1, 1, tzinfo=UTC)


def stored(store: StateStore, reconciling: bool = False) -> None:
    store.put_status(ResourceStatus(
        ref=WEB, sync=Sync.SYNCED, health=Health(state=HealthState.HEALTHY),
        conditions=(
            Condition(type=ConditionType.READY, status=True, reason="Ready",
                      last_transition=EARLIER),
            Condition(type=ConditionType.RECONCILING, status=reconciling,
                      reason="Applying" if reconciling else "Idle", last_transition=EARLIER),
            Condition(type=ConditionType.STALLED, status=False, last_transition=EARLIER),
        )))


def test_progress_steps_say_where_the_apply_is(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    feed = StatusFeed()
    recorder = StatusRecorder(store, feed)
    stored(store)
    seq = feed.seq
    recorder.progress(WEB, "deploying")
    status = store.status(WEB)
    assert status is not None
    reconciling = status.condition(ConditionType.RECONCILING)
    assert reconciling is not None and reconciling.status
    assert reconciling.message == "deploying" and reconciling.reason == "Applying"
    flipped = reconciling.last_transition
    assert flipped is not None and flipped > EARLIER
    # The other conditions keep their own transition times.
    ready = status.condition(ConditionType.READY)
    assert ready is not None and ready.last_transition == EARLIER
    changed, seq = feed.changed_since(seq)
    assert changed == {WEB}

    recorder.progress(WEB, "waiting: app: health starting")
    again = store.status(WEB)
    assert again is not None
    step = again.condition(ConditionType.RECONCILING)
    assert step is not None and step.message == "waiting: app: health starting"
    assert step.last_transition == flipped  # still reconciling: no new transition

    recorder.progress(WEB, "waiting: app: health starting")  # the same step again
    assert feed.changed_since(seq)[0] == {WEB}  # only the one change above
    assert [c.type for c in again.conditions] == [ConditionType.READY,
                                                  ConditionType.RECONCILING,
                                                  ConditionType.STALLED]


def test_a_resource_seen_first_while_applying(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    recorder = StatusRecorder(store, StatusFeed())
    recorder.progress(WEB, "creating")
    status = store.status(WEB)
    assert status is not None and status.sync is Sync.OUT_OF_SYNC
    reconciling = status.condition(ConditionType.RECONCILING)
    assert reconciling is not None and reconciling.status and reconciling.message == "creating"


def test_feed_tells_streams_to_reload_when_too_far_behind() -> None:
    feed = StatusFeed()
    first = feed.seq
    for n in range(6000):
        feed.publish([ResourceRef(kind=Kind.STACK, name=f"s{n}")], wake=False)
    refs, _ = feed.changed_since(first)
    assert refs is None
    refs, seq = feed.changed_since(feed.seq - 2)
    assert refs == {ResourceRef(kind=Kind.STACK, name="s5998"),
                    ResourceRef(kind=Kind.STACK, name="s5999")}
    assert seq == feed.seq
