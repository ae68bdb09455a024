"""Benchmark: 2,000 records in a Knot zone, bosun against octoDNS (octodns-bind), same run.

    .venv/bin/python bench/dns.py [--records 2000] [--runs 3]

Both tools get the same job on the same Knot server (Debian's knotd on a
random loopback port, TSIG key, a fresh zone before every apply): create
2,000 A records in an empty zone, then plan again and find nothing to do.
Each step is one run of the tool's own command line (``bosun plan``/``apply``
against ``octodns-sync``/``octodns-sync --doit``), timed wall-clock and by the
CPU time of the tool's process (steadier on a shared machine), median of
``--runs``, the two tools' runs interleaved. Both talk to Knot through a
counting proxy, which reports how many UPDATE messages and zone transfers each
step sent.

bosun's zone is ``authoritative`` (like octoDNS, it owns the whole zone, no
markers); a last line shows a ``shared`` zone, whose 2,000 ownership markers
double the data and no longer fit one DNS message.

octoDNS and octodns-bind are installed on first use into their own virtual
environment (in the temporary folder), from PyPI with pip.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This file is bench/dns.py: its folder must not shadow dnspython's `dns`.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from tests.integration.dns.proxy import CountingProxy  # noqa: E402
from tests.integration.dns.servers import DNSServer  # noqa: E402

BOSUN = Path(sys.executable).with_name("bosun")
OCTO_VENV = Path(tempfile.gettempdir()) / "bosun-bench-octodns-venv"
OCTO_PACKAGES = ["octodns", "octodns-bind"]


def octodns_sync() -> Path:
    binary = OCTO_VENV / "bin" / "octodns-sync"
    if not binary.exists():
        print(f"installing {' '.join(OCTO_PACKAGES)} into {OCTO_VENV} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(OCTO_VENV)], check=True)
        subprocess.run([str(OCTO_VENV / "bin" / "pip"), "install", "-q", *OCTO_PACKAGES],
                       check=True)
    return binary


def octodns_version() -> str:
    out = subprocess.run([str(OCTO_VENV / "bin" / "pip"), "list", "--format", "json"],
                         capture_output=True, text=True, check=True).stdout
    found = {p["name"].lower(): p["version"] for p in json.loads(out)}
    return ", ".join(f"{n} {found.get(n, '?')}" for n in OCTO_PACKAGES)


def hosts(count: int) -> list[tuple[str, str]]:
    return [(f"host{i}", f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}")
            for i in range(count)]


def write_bosun_repo(folder: Path, server: DNSServer, proxy: CountingProxy, count: int,
                     ownership: str) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    docs = [
        {"apiVersion": "bosun/v1", "kind": "DNSZone", "metadata": {"name": "bench"},
         "spec": {"zone": server.zone, "server": proxy.address, "ownership": ownership,
                  "tsig": {"secret": "bench-tsig"}}},
        {"apiVersion": "bosun/v1", "kind": "Secret", "metadata": {"name": "bench-tsig"},
         "spec": {"from": "env", "keys": {"name": "BENCH_TSIG_NAME",
                                          "secret": "BENCH_TSIG_SECRET"}}},
    ]
    if ownership == "authoritative":  # a shared zone leaves the hand-made glue alone
        docs.append({"apiVersion": "bosun/v1", "kind": "DNSRecord", "metadata": {"name": "ns1"},
                     "spec": {"zone": "bench", "name": "ns1", "type": "A", "ttl": 3600,
                              "values": ["127.0.0.1"]}})
    docs += [{"apiVersion": "bosun/v1", "kind": "DNSRecord", "metadata": {"name": name},
              "spec": {"zone": "bench", "name": name, "type": "A", "ttl": 300,
                       "values": [address]}}
             for name, address in hosts(count)]
    (folder / "records.yaml").write_text("\n---\n".join(json.dumps(d) for d in docs) + "\n")
    return {"BENCH_TSIG_NAME": server.tsig_name, "BENCH_TSIG_SECRET": server.tsig_secret}


def write_octodns_config(folder: Path, server: DNSServer, proxy: CountingProxy,
                         count: int) -> dict[str, str]:
    (folder / "zones").mkdir(parents=True, exist_ok=True)
    records = {"ns1": {"type": "A", "ttl": 3600, "value": "127.0.0.1"}}
    records.update({name: {"type": "A", "ttl": 300, "value": address}
                    for name, address in hosts(count)})
    (folder / "zones" / f"{server.origin}yaml").write_text(json.dumps(records))
    config = {
        "providers": {
            "config": {"class": "octodns.provider.yaml.YamlProvider",
                       "directory": str(folder / "zones"), "enforce_order": False},
            "knot": {"class": "octodns_bind.Rfc2136Provider", "host": "127.0.0.1",
                     "port": proxy.port, "key_name": "env/BENCH_TSIG_NAME",
                     "key_secret": "env/BENCH_TSIG_SECRET", "key_algorithm": "hmac-sha256"},
        },
        "zones": {server.origin: {"sources": ["config"], "targets": ["knot"]}},
    }
    (folder / "config.yaml").write_text(json.dumps(config))
    return {"BENCH_TSIG_NAME": server.tsig_name, "BENCH_TSIG_SECRET": server.tsig_secret}


class Timing:
    """Wall-clock and CPU (user + system) seconds of the tool's own process."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def run(self, command: list[str], env: dict[str, str]) -> None:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, env={**os.environ, **env}, capture_output=True,
                              text=True, check=False)
        self.wall.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command[:3])} exited {done.returncode}:\n"
                             f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")

    def median(self) -> tuple[float, float]:
        return statistics.median(self.wall), statistics.median(self.cpu)


def fresh_zone(server: DNSServer) -> None:
    server.stop()
    server.prepare()
    server.start()


class Tool:
    """One tool's three commands against the zone, and what they measured."""

    def __init__(self, name: str, server: DNSServer, proxy: CountingProxy, work: Path,
                 count: int, ownership: str = "authoritative") -> None:
        self.name = name
        self.server = server
        self.proxy = proxy
        if name == "octodns":
            self.env = write_octodns_config(work, server, proxy, count)
            sync = str(octodns_sync())
            self.plan_cmd = [sync, "--config-file", str(work / "config.yaml"), "--quiet"]
            self.apply_cmd = [*self.plan_cmd, "--doit", "--force"]
        else:
            self.env = write_bosun_repo(work, server, proxy, count, ownership)
            common = [str(work), "--provider", "dns", "--state-dir", str(work / ".state")]
            self.plan_cmd = [str(BOSUN), "plan", *common]
            self.apply_cmd = [str(BOSUN), "apply", *common]
        self.plan, self.apply, self.noop = Timing(), Timing(), Timing()
        self.updates = self.transfers = 0

    def once(self) -> None:
        fresh_zone(self.server)
        self.plan.run(self.plan_cmd, self.env)
        self.proxy.reset()
        self.apply.run(self.apply_cmd, self.env)
        self.updates, self.transfers = self.proxy.updates(), self.proxy.transfers()
        self.proxy.reset()
        self.noop.run(self.plan_cmd, self.env)
        if self.proxy.updates():
            raise SystemExit(f"{self.name}: the second plan sent an UPDATE")


def breakdown(server: DNSServer, proxy: CountingProxy, work: Path, count: int) -> str:
    """CPU seconds of each stage of one bosun apply, in this process."""
    from reconciler import observe as observe_stage
    from reconciler import plan as plan_stage
    from reconciler.pipeline import Reconciler, load_desired

    env = write_bosun_repo(work, server, proxy, count, "authoritative")
    fresh_zone(server)
    clock = time.process_time
    start = clock()
    desired = load_desired(work)
    loaded = clock()
    reconciler = Reconciler(state_dir=work / ".state", provider_names=["dns"], environ=env)
    ctx = reconciler.context(desired)
    seen = observe_stage.observe(desired, reconciler.providers, ctx)
    observed = clock()
    plan = plan_stage.make_plan(desired, reconciler.providers, seen.states, dict(seen.errors),
                                ctx)
    planned = clock()
    [provider] = reconciler.providers
    results = provider.apply(list(plan.changes), desired, ctx)
    applied = clock()
    assert all(r.outcome.value == "applied" for r in results)
    return (f"bosun stages, CPU: load+validate+resolve {loaded - start:.2f}s, observe (AXFR) "
            f"{observed - loaded:.2f}s, plan {planned - observed:.2f}s, apply (UPDATE + AXFR "
            f"to verify) {applied - planned:.2f}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    octodns_sync()
    with tempfile.TemporaryDirectory(prefix="bosun-bench-dns-") as tmp:
        work = Path(tmp)
        server = DNSServer(kind="knot", zone="bench.example", workdir=work / "knot")
        server.prepare()
        server.start()
        proxy = CountingProxy(server.host, server.port)
        try:
            bosun = Tool("bosun", server, proxy, work / "bosun", args.records)
            octo = Tool("octodns", server, proxy, work / "octodns", args.records)
            shared = Tool("bosun", server, proxy, work / "shared", args.records, "shared")
            # Interleaved, so that load from elsewhere on the machine hits both alike.
            for run in range(args.runs):
                for tool in (bosun, octo) if run % 2 == 0 else (octo, bosun):
                    tool.once()
            shared.once()
            stages = breakdown(server, proxy, work / "stages", args.records)
        finally:
            proxy.close()
            server.stop()
    print(f"\nDNS: {args.records} A records into an empty Knot zone (knotd, TSIG, loopback); "
          f"median of {args.runs} interleaved runs, wall-clock (CPU of the tool's process)")
    print(f"peer: {octodns_version()}")
    print(f"{'':27}{'plan':>15}{'apply':>15}{'no-op plan':>15}{'UPDATEs':>9}{'AXFRs':>7}")
    rows = (("bosun (authoritative zone)", bosun), ("octoDNS + octodns-bind", octo),
            ("bosun (shared, 1 run)", shared))
    for label, tool in rows:
        cells = "".join(f"{w:7.2f}s ({c:4.2f})" for w, c in
                        (tool.plan.median(), tool.apply.median(), tool.noop.median()))
        print(f"{label:27}{cells}{tool.updates:9d}{tool.transfers:7d}")
    print(stages)
    bp, op = bosun.plan.median(), octo.plan.median()
    ba, oa = bosun.apply.median(), octo.apply.median()
    print(f"\nplan:  bosun {bp[0]:.2f}s vs octoDNS {op[0]:.2f}s wall, "
          f"{bp[1]:.2f}s vs {op[1]:.2f}s CPU")
    print(f"apply: bosun {ba[0]:.2f}s vs octoDNS {oa[0]:.2f}s wall, "
          f"{ba[1]:.2f}s vs {oa[1]:.2f}s CPU; "
          f"UPDATE messages: bosun {bosun.updates}, octoDNS {octo.updates}")


if __name__ == "__main__":
    main()
