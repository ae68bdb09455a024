"""Benchmark: 2,000 routes on one Caddy gateway.

Measures, against a real Caddy on loopback (admin API on a unix socket):
  1. bosun's first apply of every route: plan + one guarded request;
  2. a no-op reconcile (plan against the applied config; nothing to send);
  3. the same routes applied one admin call at a time (what a client without a
     whole-config plan does: POST each route to the server's route list).
Caddy re-provisions its whole config on every write, so (3) grows with the
square of the route count. Targets: (1) is one request; (2) sends nothing and
takes under 300 ms.

    .venv/bin/python bench/gateway.py [--routes 2000] [--one-by-one 500] [--tls off]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
# This folder holds bench/dns.py: it must not shadow dnspython's `dns` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from providers.caddy.build import GatewayInput, RouteInput, build_gateway  # noqa: E402
from providers.caddy.embedded import caddy_binary  # noqa: E402
from providers.caddy.upstreams import from_url  # noqa: E402
from reconciler.model.kinds import Gateway, Route  # noqa: E402
from reconciler.pipeline import Reconciler, load_desired  # noqa: E402


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Caddy:
    """A Caddy of the benchmark's own, in a temporary folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket = folder / "admin.sock"
        config = {"admin": {"listen": f"unix/{self.socket}"},
                  "apps": {"pki": {"certificate_authorities": {"local": {"install_trust": False}}}}}
        (folder / "initial.json").write_text(json.dumps(config))
        env = dict(os.environ, XDG_DATA_HOME=str(folder / "data"),
                   XDG_CONFIG_HOME=str(folder / "config"))
        self.log = (folder / "caddy.log").open("ab")
        self.proc = subprocess.Popen(
            [caddy_binary(), "run", "--config", str(folder / "initial.json")],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.http = httpx.Client(transport=httpx.HTTPTransport(uds=str(self.socket)),
                                 base_url="http://localhost", timeout=600)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if self.http.get("/config/").status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise SystemExit("Caddy did not start")

    def etag(self) -> str:
        return self.http.get("/config/").headers["etag"]

    def close(self) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def write_repo(repo: Path, admin: str, http: int, https: int, upstream: int, n: int,
               tls: str) -> None:
    repo.mkdir(parents=True)
    (repo / "bosun.yaml").write_text(
        "apiVersion: bosun/v1\nkind: Repository\nmetadata: {name: bench}\nspec: {owner: bench}\n")
    docs = [f"""apiVersion: bosun/v1
kind: Gateway
metadata: {{name: edge}}
spec:
  admin: {admin}
  listen: {{http: "127.0.0.1:{http}", https: "127.0.0.1:{https}"}}
  tls: {{issuer: internal}}
"""]
    for i in range(n):
        path = "/" if i % 3 == 0 else f"/api/v{i % 7}"
        docs.append(f"""apiVersion: bosun/v1
kind: Route
metadata: {{name: r{i:05d}}}
spec:
  gateway: edge
  hosts: [app{i}.example.test{', "*.app' + str(i) + '.example.test"' if i % 5 == 0 else ''}]
  path: {path}
  to: {{url: "http://127.0.0.1:{upstream}"}}
  tls: "{tls}"
  headers: {{X-Route: r{i:05d}}}
""")
    (repo / "routes.yaml").write_text("---\n".join(docs))


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def cpu_timed(fn: Any) -> tuple[float, float, Any]:
    """Wall-clock and this process's CPU seconds (the machine may be shared)."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def one_by_one(folder: Path, desired: Any, n: int) -> tuple[float, int]:
    """The same objects bosun sends, one POST per route entry (and policy)."""
    caddy = Caddy(folder)
    try:
        gateway = next(r.document for r in desired.resources if isinstance(r.document, Gateway))
        routes = [r.document for r in desired.resources if isinstance(r.document, Route)][:n]
        built = build_gateway("bench", GatewayInput(name=gateway.name, spec=gateway.spec), [
            RouteInput(name=r.name, spec=r.spec,
                       upstream=from_url(r.spec.to.url if r.spec.to and r.spec.to.url else ""))
            for r in routes])
        servers = {k: v for k, v in built.objects.items() if k.count(".") == 2}
        entries = [v for k, v in built.objects.items() if ".route." in k and not k.endswith(".tls")]
        policies = [v for k, v in built.objects.items() if k.endswith(".tls")]
        config = caddy.http.get("/config/").json()
        config["apps"]["http"] = {"servers": {f"bosun-bench-{k}": {**v, "routes": []}
                                               for k, v in servers.items()}}
        if policies:
            config["apps"]["tls"] = {"automation": {"policies": []}}
        caddy.http.post("/load", json=config).raise_for_status()
        requests = 0
        start = time.perf_counter()
        for entry in entries:
            server = "bosun-bench-" + entry["@id"].removeprefix("bosun-bench-").split(".route.")[0]
            listener = entry["@id"].rsplit(".", 2)[-2]
            response = caddy.http.post(
                f"/config/apps/http/servers/{server}.{listener}/routes", json=entry)
            response.raise_for_status()
            requests += 1
        for policy in policies:
            caddy.http.post("/config/apps/tls/automation/policies", json=policy).raise_for_status()
            requests += 1
        return time.perf_counter() - start, requests
    finally:
        caddy.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, default=2000)
    parser.add_argument("--one-by-one", type=int, default=500,
                        help="routes for the one-call-at-a-time run (default 500: all 2,000 "
                             "took 15 minutes here, as every call re-provisions the config)")
    parser.add_argument("--tls", choices=["off", "internal"], default="off",
                        help="route TLS (internal makes Caddy issue a certificate per host)")
    parser.add_argument("--noop-runs", type=int, default=5)
    args = parser.parse_args()
    per_call = min(args.routes, args.one_by_one)

    with tempfile.TemporaryDirectory(prefix="bosun-bench-") as tmp:
        folder = Path(tmp)
        (folder / "caddy1").mkdir()
        caddy = Caddy(folder / "caddy1")
        try:
            http, https, upstream = free_ports(3)
            write_repo(folder / "repo", f"unix://{caddy.socket}", http, https, upstream,
                       args.routes, args.tls)
            load_s, desired = timed(lambda: load_desired(folder / "repo"))
            reconciler = Reconciler(state_dir=folder / "state", provider_names=["caddy"])
            ctx = reconciler.context(desired)

            plan_s, plan = timed(lambda: reconciler.plan(desired, ctx))
            apply_s, report = timed(lambda: reconciler.apply(plan, desired, ctx))
            assert report.ok, [r.message for r in report.results if r.message][:3]
            etag = caddy.etag()

            noop: list[float] = []
            noop_cpu: list[float] = []
            noop_changes = noop_writes = 0
            for _ in range(args.noop_runs):
                def reconcile() -> Any:
                    again = reconciler.plan(desired, ctx)
                    return again, reconciler.apply(again, desired, ctx)
                seconds, cpu, (again, noop_report) = cpu_timed(reconcile)
                noop.append(seconds)
                noop_cpu.append(cpu)
                noop_changes += len(again.changes)
                noop_writes += noop_report.writes
            unchanged = caddy.etag() == etag
        finally:
            caddy.close()

        (folder / "caddy2").mkdir()
        per_call_s, per_call_requests = one_by_one(folder / "caddy2", desired, per_call)

    print(f"bosun gateway benchmark: {args.routes} routes (tls {args.tls}), Caddy on a unix "
          f"socket, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"  load+validate+resolve the repository   {load_s * 1000:8.0f} ms  (not part of below)")
    print(f"  first apply: plan                      {plan_s * 1000:8.0f} ms  "
          f"({len(plan.changes)} changes)")
    print(f"  first apply: apply                     {apply_s * 1000:8.0f} ms  "
          f"({report.writes} admin request{'s' if report.writes != 1 else ''})")
    print(f"  first apply total                      {(plan_s + apply_s) * 1000:8.0f} ms")
    print(f"  no-op reconcile (plan+apply), median   {statistics.median(noop) * 1000:8.0f} ms  "
          f"(min {min(noop) * 1000:.0f}, max {max(noop) * 1000:.0f}; {args.noop_runs} runs; "
          f"{noop_changes} changes, {noop_writes} writes, config ETag "
          f"{'unchanged' if unchanged else 'CHANGED'})")
    print(f"  no-op reconcile, bosun's CPU time      {statistics.median(noop_cpu) * 1000:8.0f} ms  "
          f"(median; wall time above includes waiting for Caddy and for a shared CPU)")
    print(f"  one admin call per route, first {per_call} routes  {per_call_s * 1000:8.0f} ms  "
          f"({per_call_requests} admin requests; each re-provisions the whole config)")
    ok = report.writes == 1 and noop_writes == 0 and unchanged and statistics.median(noop) < 0.3
    print(f"  targets (1 request; no-op sends nothing in < 300 ms): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
