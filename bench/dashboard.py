"""Dashboard and API response times with 500 resources.

A state store is filled as bosun serve would fill it after reconciling 500
resources (400 stacks with services and containers, 100 routes; a few
degraded, some with history; a plan touching every one; 2,000 events), and
the real serve app (API + dashboard) is served by uvicorn on a random
loopback port. Each page is fetched over HTTP, warm, ``--rounds`` times;
prints the median, the 95th percentile and the slowest. Target: under 200 ms
for the overview and for a resource page.

    .venv/bin/python bench/dashboard.py [--resources 500] [--rounds 40]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
# This folder holds bench/dns.py: it must not shadow dnspython's `dns` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from reconciler.api import ApiConfig, mount  # noqa: E402
from reconciler.model.common import Kind, ResourceRef  # noqa: E402
from reconciler.model.status import (  # noqa: E402
    Condition,
    ConditionType,
    ContainerInfo,
    Health,
    HealthState,
    HistoryEntry,
    ResourceDetails,
    ResourceStatus,
    ServiceInfo,
    Sync,
    UpstreamInfo,
)
from reconciler.pipeline import Reconciler  # noqa: E402
from reconciler.runtime import ReconcileCycle, Runtime  # noqa: E402
from reconciler.server import build_app  # noqa: E402
from reconciler.source import LocalSource  # noqa: E402
from reconciler.state import EventLevel, RunState, StateStore  # noqa: E402
from reconciler.status import StatusFeed  # noqa: E402
from tests.asgiserver import serving  # noqa: E402
from webhook import WebhookConfig  # noqa: E402

REVISION = "main@sha1:" + "ab12cd34" * 5


def fill(store: StateStore, count: int) -> list[ResourceRef]:
    now = datetime.now(UTC)
    refs: list[ResourceRef] = []
    changes = []
    for n in range(count):
        route = n % 5 == 4
        ref = ResourceRef(kind=Kind.ROUTE if route else Kind.STACK, name=f"app-{n:04d}")
        refs.append(ref)
        bad = n % 37 == 0
        health = Health(state=HealthState.DEGRADED, reason="ServicesFailing",
                        message="web: exited with code 1") if bad else \
            Health(state=HealthState.HEALTHY)
        details = ResourceDetails(
            hosts=(f"{ref.name}.example.com",),
            upstreams=(UpstreamInfo(address=f"{ref.name}/web:80"),),
            facts={"gateway": "edge", "path": "/"},
        ) if route else ResourceDetails(
            services=(ServiceInfo(name="web", image="bosun.local/busybox:1", replicas=2,
                                  running=2, ports=("8080:80",)),
                      ServiceInfo(name="worker", image="bosun.local/busybox:1", replicas=1,
                                  running=1)),
            containers=tuple(ContainerInfo(name=f"{ref.name}-{svc}-{i}", service=svc,
                                           state="running", health="healthy",
                                           image="bosun.local/busybox:1")
                             for svc, i in (("web", 1), ("web", 2), ("worker", 1))),
        )
        conditions = (
            Condition(type=ConditionType.READY, status=not bad, reason="Ready",
                      last_transition=now - timedelta(hours=1)),
            Condition(type=ConditionType.RECONCILING, status=False, reason="Idle",
                      last_transition=now - timedelta(hours=1)),
            Condition(type=ConditionType.STALLED, status=bad, reason="ApplyFailed" if bad else "",
                      message="health check failed" if bad else "",
                      last_transition=now - timedelta(hours=1)),
        )
        store.put_status(ResourceStatus(
            ref=ref, sync=Sync.OUT_OF_SYNC if bad else Sync.SYNCED, health=health,
            conditions=conditions, last_applied_revision=REVISION,
            last_attempted_revision=REVISION, digest="sha256:" + f"{n:064x}", details=details))
        for h in range(5):
            store.add_history(ref, HistoryEntry(
                revision=REVISION, digest="sha256:" + f"{n + h:064x}",
                started_at=now - timedelta(minutes=10 * h),
                finished_at=now - timedelta(minutes=10 * h - 1), result="applied",
                changes=("update applied",)))
        changes.append({"action": "update", "resource": str(ref), "kind": ref.kind.value,
                        "name": ref.name, "provider": "compose", "reason": "changed: spec.env",
                        "details": ["recreate web"],
                        "diffs": [{"path": "spec.env.VERSION", "before": "1", "after": "2",
                                   "sensitive": False}]})
    store.put_plan(1, {"format_version": 1, "digest": "sha256:" + "0" * 64, "revision": REVISION,
                       "desired_digest": "", "observed_digest": "",
                       "created_at": now.isoformat(),
                       "summary": {"text": f"Plan: 0 to add, {count} to change, 0 to destroy.",
                                   "create": 0, "update": count, "replace": 0, "delete": 0},
                       "changes": changes, "errors": [], "warnings": [], "policy": []})
    run = store.start_run(REVISION, "poll")
    store.finish_run(run, RunState.SUCCEEDED, summary="Plan: 0 to add, 0 to change.")
    for n in range(2000):
        ref = refs[n % count]
        store.add_event("apply", f"{ref} applied", ref=ref,
                        level=EventLevel.WARNING if n % 50 == 0 else EventLevel.INFO)
    return refs


def measure(client: httpx.Client, url: str, rounds: int) -> list[float]:
    client.get(url).raise_for_status()  # warm: templates compiled, caches filled
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        answer = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        answer.raise_for_status()
    return times


def cpu_times(app: object, path: str, rounds: int) -> list[float]:
    """CPU milliseconds the handler itself spends (thread time: steady on a busy machine)."""
    from starlette.requests import Request

    route_path, _, query = path.partition("?")
    handler = None
    params: dict[str, str] = {}
    for route in app.router.routes:  # type: ignore[attr-defined]
        match = getattr(route, "path_regex", None)
        found = match.match(route_path) if match is not None else None
        if found is not None and hasattr(route, "endpoint"):
            handler, params = route.endpoint, found.groupdict()
            break
    assert handler is not None, path
    scope = {"type": "http", "method": "GET", "path": route_path, "query_string": query.encode(),
             "headers": [], "app": app, "path_params": params}
    handler(Request(scope))
    times = []
    for _ in range(rounds):
        start = time.thread_time()
        handler(Request(scope))
        times.append((time.thread_time() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bosun-bench-dashboard-") as tmp:
        base = Path(tmp)
        (base / "repo").mkdir()
        store = StateStore(base / "state")
        started = time.perf_counter()
        refs = fill(store, args.resources)
        print(f"store filled with {len(refs)} resources in {time.perf_counter() - started:.1f}s")
        cycle = ReconcileCycle(LocalSource(base / "repo"),
                               Reconciler(state_dir=base / "state", provider_names=["memory"]),
                               store)
        runtime = Runtime(cycle, store)  # never started: the pages only read the store
        app = build_app(runtime, store, WebhookConfig(secret=None))
        mount(app, StatusFeed(), ApiConfig())
        stack = next(r for r in refs[len(refs) // 2:] if r.kind is Kind.STACK)
        route = next(r for r in refs[len(refs) // 2:] if r.kind is Kind.ROUTE)
        pages = {
            "overview /": "/",
            "overview / (zh)": "/?lang=zh",
            f"resource page /resources/{stack}": f"/resources/{stack}",
            f"resource page /resources/{route}": f"/resources/{route}",
            "API /api/v1/resources": "/api/v1/resources",
            f"API /api/v1/resources/{stack}": f"/api/v1/resources/{stack}",
        }
        with serving(app) as url, httpx.Client(base_url=url, timeout=30) as client:
            size = len(client.get("/").content)
            print(f"overview page: {size / 1024:.0f} KiB of HTML")
            print(f"{'page':48} {'median':>8} {'p95':>8} {'max':>8}   (ms, {args.rounds} rounds)")
            for label, path in pages.items():
                times = sorted(measure(client, path, args.rounds))
                p95 = times[max(0, int(len(times) * 0.95) - 1)]
                print(f"{label:48} {statistics.median(times):8.1f} {p95:8.1f} "
                      f"{times[-1]:8.1f}")
        load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() \
            else "?"
        print(f"\nCPU time of the handler alone (ms; load average {load} while measuring):")
        for label, path in pages.items():
            times = sorted(cpu_times(app, path, args.rounds))
            print(f"{label:48} {statistics.median(times):8.1f} "
                  f"{times[max(0, int(len(times) * 0.95) - 1)]:8.1f} {times[-1]:8.1f}")
        store.close()


if __name__ == "__main__":
    main()
