"""Compose deletes against real Docker: only bosun's own, read again at apply time.

A plan can be older than its apply (a saved plan, a queued reconcile): the
delete reads the project again and leaves it alone when it is no longer this
owner's. Names are unique per test; what a test creates is removed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import docker.errors
import pytest

from reconciler.model.common import Kind, ResourceRef
from reconciler.model.plan import ChangeAction, ChangeOutcome
from reconciler.pipeline import Reconciler, load_desired
from reconciler.provider import ApplyOptions
from tests.integration.helpers import IMAGE, Engine, StackRepo, sleeper, unique

pytestmark = [pytest.mark.docker, pytest.mark.slow]

MakeRepo = Callable[[Engine], StackRepo]


def test_a_delete_planned_earlier_spares_what_is_no_longer_ours(
        docker_engine: Engine, make_repo: MakeRepo) -> None:
    repo = make_repo(docker_engine)
    keep, gone = unique("keep"), unique("gone")
    repo.write_stack(keep, {"app": sleeper()})
    repo.write_stack(gone, {"app": sleeper()})
    assert repo.bosun("apply").exit_code == 0
    repo.remove_stack(gone)
    reconciler = Reconciler(state_dir=repo.state_dir, provider_names=["compose"],
                            options=ApplyOptions(allow_empty=True))
    desired = load_desired(repo.root)
    plan = reconciler.plan(desired)
    [delete] = [c for c in plan.changes if c.action is ChangeAction.DELETE]
    assert delete.ref == ResourceRef(kind=Kind.STACK, name=gone)

    # Meanwhile someone replaces the project by hand: same name, not bosun's.
    client = docker_engine.client
    for c in client.containers(all=True, filters={"label": f"com.docker.compose.project={gone}"}):
        client.remove_container(c["Id"], force=True)
    for n in client.networks(filters={"label": f"com.docker.compose.project={gone}"}):
        client.remove_network(n["Id"])
    theirs = client.create_container(IMAGE, command=["sleep", "1000000"], name=f"{gone}-hand",
                                     labels={"com.docker.compose.project": gone,
                                             "com.docker.compose.service": "app"})["Id"]
    try:
        client.start(theirs)
        report = reconciler.apply(plan, desired)
        [result] = report.results
        assert result.outcome is ChangeOutcome.FAILED
        assert result.message == (f"project {gone!r} on host {docker_engine.host} now belongs "
                                  "to nobody (no bosun.owner label); not deleted")
        assert client.inspect_container(theirs)["State"]["Running"]
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            client.remove_container(theirs, force=True)
