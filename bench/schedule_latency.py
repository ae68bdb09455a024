"""How late schedules run, what a ``run`` action costs, and planning many schedules.

1. Slot to request: an ``every: 1s`` http schedule under the real engine
   (APScheduler, claim in the state store, a thread per run) against a
   loopback server; the delay from each slot to the request's arrival.
2. ``run`` action against Docker: a stack with a one-off service, a schedule
   running ``true`` every 3 s; the run's wall time as bosun records it (render
   from cache, ``compose run --detach``, follow, wait, remove) next to a plain
   ``docker compose run --rm`` of the same service by hand.
3. Plan: 1,000 schedules registered, then observe + plan (no change) and
   registering them all again from a state store (``bosun apply`` outside serve).

    .venv/bin/python bench/schedule_latency.py [--runs 10] [--no-docker]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# This folder holds bench/dns.py: it must not shadow dnspython's `dns` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from providers.compose.cli import compose_command  # noqa: E402
from providers.scheduler import SchedulerProvider  # noqa: E402
from reconciler.model.schedule import ScheduleRunResult  # noqa: E402
from reconciler.pipeline import Reconciler, load_desired  # noqa: E402
from reconciler.provider import ApplyOptions  # noqa: E402
from reconciler.runtime import ReconcileCycle, Runtime, RuntimeOptions  # noqa: E402
from reconciler.source.local import LocalSource  # noqa: E402
from reconciler.state import StateStore  # noqa: E402

REPO = "apiVersion: bosun/v1\nkind: Repository\nmetadata: {name: b}\nspec: {owner: bench}\n"


def ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
    return (f"median {statistics.median(values) * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, "
            f"max {values[-1] * 1000:.1f} ms (n={len(values)})")


def serve(root: Path, state: Path, providers: list[str]) -> tuple[Runtime, StateStore]:
    store = StateStore(state)
    reconciler = Reconciler(state_dir=state, provider_names=providers, kv=store,
                            options=ApplyOptions(wait=True))
    runtime = Runtime(ReconcileCycle(LocalSource(root), reconciler, store), store,
                      RuntimeOptions(interval=3600, jitter=0, stop_timeout=30))
    runtime.start()
    return runtime, store


def slot_latency(base: Path, runs: int) -> None:
    arrivals: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            arrivals.append(time.time())
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    root = base / "http"
    root.mkdir()
    (root / "bosun.yaml").write_text(REPO)
    (root / "tick.yaml").write_text(
        "apiVersion: bosun/v1\nkind: Schedule\nmetadata: {name: tick}\nspec:\n"
        f"  every: 1s\n  history: {runs + 5}\n"
        f"  action: {{http: {{url: 'http://127.0.0.1:{server.server_address[1]}/',"
        " expectStatus: [204]}}\n")
    runtime, store = serve(root, base / "http-state", ["scheduler"])
    deadline = time.monotonic() + runs + 30
    while len(arrivals) < runs + 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    runtime.stop()
    history = [r for r in store.schedule_history("tick", runs + 5) if r.slot]
    store.close()
    server.shutdown()
    # Match each request to its slot: the latest slot before it arrived.
    slots = sorted(r.slot.timestamp() for r in history if r.slot)
    delays = []
    for at in arrivals[1:]:
        before = [s for s in slots if s <= at]
        if before:
            delays.append(at - before[-1])
    print(f"http action, slot -> request at the server: {ms(delays)}")


STACK = """\
apiVersion: bosun/v1
kind: Stack
metadata: {name: %(name)s}
spec:
  compose:
    services:
      app: {image: "bosun.local/busybox:1", command: [sleep, "3600"]}
      job: {image: "bosun.local/busybox:1", profiles: [jobs], command: ["true"]}
"""


def run_action(base: Path, runs: int) -> None:
    name = f"bench-sched-{int(time.time())}"
    root = base / "docker"
    root.mkdir()
    (root / "bosun.yaml").write_text(REPO)
    (root / "stack.yaml").write_text(STACK % {"name": name})
    (root / "job.yaml").write_text(
        "apiVersion: bosun/v1\nkind: Schedule\nmetadata: {name: job}\nspec:\n"
        f"  every: 3s\n  history: {runs + 5}\n"
        f"  action: {{run: {{stack: {name}, service: job}}}}\n")
    runtime, store = serve(root, base / "docker-state", ["compose", "scheduler"])
    try:
        deadline = time.monotonic() + runs * 3 + 90
        while time.monotonic() < deadline:
            done = [r for r in store.schedule_history("job", runs + 5)
                    if r.result is ScheduleRunResult.SUCCEEDED]
            if len(done) >= runs:
                break
            time.sleep(0.2)
        runtime.stop()
        took = [r.seconds for r in done if r.seconds is not None]
        late = [(r.started_at - r.slot).total_seconds() for r in done if r.slot]
        print(f"run action, wall time of a run (compose run -d, follow, wait, remove): "
              f"{ms(took)}")
        print(f"run action, slot -> run recorded as started: {ms(late)}")
        model = json.dumps({"name": name, "services": {"job": {
            "image": "bosun.local/busybox:1", "command": ["true"]}}})
        plain = []
        for _ in range(max(3, runs // 2)):
            began = time.monotonic()
            subprocess.run([*compose_command(), "--project-name", name, "-f", "-", "run", "--rm",
                            "--no-deps", "-T", "job"], input=model, text=True,
                           capture_output=True, check=True, cwd=root)
            plain.append(time.monotonic() - began)
        print(f"plain `docker compose run --rm job` by hand: {ms(plain)}")
    finally:
        store.close()
        subprocess.run([*compose_command(), "--project-name", name, "down", "--volumes",
                        "--remove-orphans", "--timeout", "0"], capture_output=True, check=False,
                       cwd="/")


def plan_many(base: Path, count: int) -> None:
    root = base / "many"
    root.mkdir()
    (root / "bosun.yaml").write_text(REPO)
    with (root / "schedules.yaml").open("w") as fh:
        for i in range(count):
            fh.write(f"---\napiVersion: bosun/v1\nkind: Schedule\nmetadata: {{name: s-{i:04d}}}\n"
                     f"spec:\n  cron: '{i % 60} {i % 24} * * *'\n  timezone: Europe/Berlin\n"
                     f"  action: {{http: {{url: 'http://127.0.0.1:9/{i}'}}}}\n")
    state = base / "many-state"
    store = StateStore(state)
    reconciler = Reconciler(state_dir=state, provider_names=["scheduler"], kv=store)
    desired = load_desired(root)
    began = time.perf_counter()
    plan = reconciler.plan(desired)
    first = time.perf_counter() - began
    began = time.perf_counter()
    reconciler.apply(plan, desired)
    applied = time.perf_counter() - began
    began = time.perf_counter()
    again = reconciler.plan(desired)
    second = time.perf_counter() - began
    assert not again.changes, again.summary()
    provider = next(p for p in reconciler.providers if isinstance(p, SchedulerProvider))
    assert provider.engine is None
    store.close()
    print(f"{count} schedules: first plan {first:.2f} s ({len(plan.changes)} creates), "
          f"register all {applied:.2f} s, plan with nothing to do {second:.2f} s")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--schedules", type=int, default=1000)
    parser.add_argument("--no-docker", action="store_true")
    args = parser.parse_args()
    print(f"bench/schedule_latency.py at {datetime.now(UTC):%Y-%m-%d %H:%M}Z")
    with tempfile.TemporaryDirectory(prefix="bosun-bench-sched-") as tmp:
        base = Path(tmp)
        slot_latency(base, args.runs)
        if not args.no_docker:
            run_action(base, max(3, args.runs // 2))
        plan_many(base, args.schedules)
    return 0


if __name__ == "__main__":
    sys.exit(main())
