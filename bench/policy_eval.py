"""How long the policy stage takes on a large repository.

Writes a repository of N stacks (each with 3 services, ports, volumes,
healthchecks; every tenth with a violation) and 1 route per stack, loads it
with the real stages, then times ``policy.evaluate`` with the built-in library
and all parameters set. Prints resources, violations and timings.

    .venv/bin/python bench/policy_eval.py [stacks]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

# This folder holds bench/dns.py: it must not shadow dnspython's `dns` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from reconciler import policy as policy_stage  # noqa: E402
from reconciler.pipeline import load_desired  # noqa: E402

BOSUN_YAML = """\
apiVersion: bosun/v1
kind: Repository
metadata: {name: bench}
spec:
  policies:
    params:
      allowedRegistries: [bosun.local]
      allowedHostPorts: [{from: 20000, to: 29999}]
      allowedDomains: [example.com]
---
apiVersion: bosun/v1
kind: Gateway
metadata: {name: edge}
"""


def write(root: Path, stacks: int) -> None:
    (root / "bosun.yaml").write_text(BOSUN_YAML)
    for i in range(stacks):
        folder = root / "stacks" / f"s{i}"
        folder.mkdir(parents=True)
        bad = i % 10 == 0
        image = "nginx:latest" if bad else "bosun.local/busybox:1"
        (folder / "stack.yaml").write_text(
            f"apiVersion: bosun/v1\nkind: Stack\nmetadata: {{name: s{i}}}\n"
            "spec: {compose: compose.yaml}\n---\n"
            f"apiVersion: bosun/v1\nkind: Route\nmetadata: {{name: r{i}}}\n"
            f"spec: {{gateway: edge, hosts: [s{i}.example.com], "
            f"to: {{stack: s{i}, service: web, port: 80}}}}\n")
        services = []
        for name in ("web", "worker", "db"):
            services.append(
                f"  {name}:\n    image: {image}\n"
                f"    ports: ['127.0.0.1:{20000 + i}:80']\n" if name == "web" else
                f"  {name}:\n    image: bosun.local/busybox:1\n"
                "    volumes: ['data:/data']\n"
                "    healthcheck: {test: [CMD, 'true']}\n")
        (folder / "compose.yaml").write_text("services:\n" + "".join(services)
                                             + "volumes:\n  data: {}\n")


def main() -> None:
    stacks = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    library = policy_stage.builtin_library()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write(root, stacks)
        started = time.perf_counter()
        desired = load_desired(root)
        loaded = time.perf_counter() - started
        best = float("inf")
        results = []
        for _ in range(3):
            started = time.perf_counter()
            results = policy_stage.evaluate(desired, library)
            best = min(best, time.perf_counter() - started)
    rules = sum(len(p.spec.rules) for p in library)
    print(f"resources: {len(desired.resources)} ({stacks} stacks x 3 services, {stacks} routes)")
    print(f"built-in rules: {rules}; violations found: {len(results)} "
          f"({sum(r.enforced for r in results)} enforced)")
    print(f"load+validate+resolve: {loaded:.2f} s")
    print(f"policy.evaluate (best of 3): {best:.3f} s = {best / stacks * 1000:.2f} ms per stack")


if __name__ == "__main__":
    main()
