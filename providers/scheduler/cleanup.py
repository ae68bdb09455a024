"""Run containers a previous ``bosun serve`` left behind, removed once per start.

engine (first reconcile after start-up) -> **cleanup** -> Docker/Podman

A ``run`` container carries ``bosun.schedule.instance`` (a digest of the state
folder): a process that died mid-run leaves its container, which the next
process with the same state folder kills and removes. Containers of other
bosun instances on the same engine, and runs of this process, are left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from providers.engine import engine_errors, engine_url
from providers.scheduler.containers import INSTANCE_LABEL, RUN_LABEL
from providers.scheduler.runs import RunContext
from reconciler.errors import BosunError
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.kinds import Host, Schedule, Stack

log = logging.getLogger("bosun.scheduler")


def run_hosts(rc: RunContext) -> dict[str, Host]:
    """Hosts of the stacks that ``run`` actions use, by engine address."""
    out: dict[str, Host] = {}
    for res in rc.desired.of_kind(Kind.SCHEDULE):
        schedule = res.document
        if not isinstance(schedule, Schedule) or schedule.spec.action.run is None:
            continue
        stack = rc.desired.get(ResourceRef(kind=Kind.STACK, name=schedule.spec.action.run.stack))
        if stack is None or not isinstance(stack.document, Stack):
            continue
        host = rc.desired.get(ResourceRef(kind=Kind.HOST,
                                          name=stack.document.spec.host or "local"))
        if host is not None and isinstance(host.document, Host):
            out[engine_url(host.document)] = host.document
    return out


def remove_leftovers(rc: RunContext, active: Callable[[], dict[str, list[int]]]) -> None:
    mine = {run_id for runs in active().values() for run_id in runs}
    for host in run_hosts(rc).values():
        ref = ResourceRef(kind=Kind.HOST, name=host.name)
        try:
            client = rc.clients.get(host)
            with engine_errors(ref, reading=False):
                found = client.containers(all=True, filters={
                    "label": f"{INSTANCE_LABEL}={rc.instance}"})
                for c in found:
                    run_id = str((c.get("Labels") or {}).get(RUN_LABEL, ""))
                    if run_id.isdigit() and int(run_id) in mine:
                        continue
                    log.warning("removing run container %s left by an earlier bosun serve",
                                (c.get("Names") or [c.get("Id")])[0])
                    client.remove_container(c["Id"], force=True)
        except BosunError as exc:
            log.warning("could not look for leftover run containers on %s: %s", host.name, exc)
