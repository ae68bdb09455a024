"""Time to load, validate, resolve and plan a large repository.

Generates (in a temporary folder) 1,000 stacks (each a manifest and a compose
file), 1,000 routes and 2,000 DNS records plus their gateway and zone, then
times each stage against the memory provider and prints the figures. Target:
under 2 s in total.

    .venv/bin/python bench/load_plan.py [--stacks 1000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

# This folder holds bench/dns.py: it must not shadow dnspython's `dns` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from reconciler import load as load_stage  # noqa: E402
from reconciler import resolve as resolve_stage  # noqa: E402
from reconciler import validate as validate_stage  # noqa: E402
from reconciler.errors import ConfigError  # noqa: E402
from reconciler.model.source import Revision  # noqa: E402
from reconciler.pipeline import Reconciler, gc_paused  # noqa: E402

T = TypeVar("T")


def generate(root: Path, stacks: int) -> None:
    """``stacks`` stacks with one route each, and two DNS records per stack."""
    (root / "bosun.yaml").write_text("""\
apiVersion: bosun/v1
kind: Repository
metadata: {name: bench}
spec: {paths: [apps, edge.yaml, dns], owner: bench}
""")
    (root / "edge.yaml").write_text("""\
apiVersion: bosun/v1
kind: Gateway
metadata: {name: edge}
spec:
  listen: {http: "127.0.0.1:8880", https: "127.0.0.1:8443"}
  tls: {issuer: internal}
""")
    for i in range(stacks):
        app = root / "apps" / f"app-{i:04d}"
        app.mkdir(parents=True)
        (app / "stack.yaml").write_text(f"""\
# yaml-language-server: $schema=../../schemas/bosun.json
apiVersion: bosun/v1
kind: Stack
metadata:
  name: app-{i:04d}
  labels: {{team: team-{i % 10}, tier: web}}
spec:
  compose: compose.yaml
  env:
    GREETING: hello {i}
    PORT: "{10000 + i}"
  health: {{timeout: 60s}}
---
apiVersion: bosun/v1
kind: Route
metadata:
  name: app-{i:04d}
spec:
  gateway: edge
  hosts: [app-{i:04d}.example.com]
  to: {{stack: app-{i:04d}, service: web, port: 8080}}
  tls: internal
""")
        (app / "compose.yaml").write_text(f"""\
services:
  web:
    image: bosun.local/busybox:1
    command: [httpd, -f, -p, "8080", -h, /www]
    environment:
      GREETING: ${{GREETING}}
    ports: ["127.0.0.1:${{PORT}}:8080"]
    healthcheck:
      test: [CMD, wget, -q, -O, /dev/null, "http://127.0.0.1:8080/"]
      interval: 5s
    labels: {{app: app-{i:04d}}}
  worker:
    image: bosun.local/busybox:1
    command: [sleep, "{3600 + i}"]
""")
    dns = root / "dns"
    dns.mkdir()
    (dns / "zone.yaml").write_text("""\
apiVersion: bosun/v1
kind: DNSZone
metadata: {name: example-com}
spec: {zone: example.com, server: "127.0.0.1:5353", ownership: shared}
""")
    per_file = 100
    records = []
    for i in range(stacks):
        address = f"198.51.{i // 250}.{i % 250 + 1}"
        records.append(f"""\
apiVersion: bosun/v1
kind: DNSRecord
metadata: {{name: app-{i:04d}-a}}
spec: {{zone: example-com, name: app-{i:04d}, type: A, ttl: 300, values: [{address}]}}
""")
        records.append(f"""\
apiVersion: bosun/v1
kind: DNSRecord
metadata: {{name: app-{i:04d}-txt}}
spec: {{zone: example-com, name: app-{i:04d}, type: TXT, values: ['"owner=team-{i % 10}"']}}
""")
    for n in range(0, len(records), per_file):
        text = "---\n".join(records[n:n + per_file])
        (dns / f"records-{n // per_file:03d}.yaml").write_text(text)


Figures = dict[str, tuple[float, float]]


def timed(label: str, figures: Figures, func: Callable[[], T]) -> T:
    """Run ``func``; record its wall-clock and CPU seconds under ``label``."""
    start, cpu = time.perf_counter(), time.process_time()
    value = func()
    figures[label] = (time.perf_counter() - start, time.process_time() - cpu)
    return value


def run(root: Path, state: Path) -> tuple[Figures, int, int]:
    """The stages as ``pipeline.load_desired`` and ``Reconciler.plan`` run them, timed apart."""
    with gc_paused():
        return _run(root, state)


def _run(root: Path, state: Path) -> tuple[Figures, int, int]:
    figures: Figures = {}
    loaded = timed("load", figures, lambda: load_stage.load(root))
    checked = timed("validate", figures,
                    lambda: validate_stage.validate_all(loaded.documents, loaded.repository))
    if loaded.problems or checked.problems:
        raise ConfigError([*loaded.problems, *checked.problems])
    desired = timed("resolve", figures, lambda: resolve_stage.resolve(
        root, Revision(), checked.validated, checked.repository))
    reconciler = Reconciler(state_dir=state, provider_names=["memory"])
    plan = timed("plan", figures, lambda: reconciler.plan(desired))
    return figures, len(desired.resources), len(plan.changes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stacks", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="print the top of a cProfile")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bosun-bench-") as tmp:
        root = Path(tmp) / "repo"
        root.mkdir()
        generate(root, args.stacks)
        state = Path(tmp) / "state"
        profiler = cProfile.Profile() if args.profile else None
        if profiler:
            profiler.enable()
        figures, resources, changes = run(root, state)
        if profiler:
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    wall = sum(w for w, _ in figures.values())
    cpu = sum(c for _, c in figures.values())
    print(f"bench/load_plan.py: {args.stacks} stacks, {args.stacks} routes, "
          f"{2 * args.stacks} DNS records -> {resources} resources, {changes} changes planned")
    print(f"  {'stage':<9} {'wall':>8} {'cpu':>8}")
    for label, (w, c) in figures.items():
        print(f"  {label:<9} {w:7.3f}s {c:7.3f}s")
    print(f"  {'total':<9} {wall:7.3f}s {cpu:7.3f}s  (target: under 2 s; the machine's load "
          f"average is {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
