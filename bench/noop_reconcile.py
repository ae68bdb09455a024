"""No-op reconcile of 100 stacks: bosun against a `docker compose up -d` loop and Harbormaster.

Creates 100 stacks (one small service each, from bosun.local/busybox:1) on the
local Docker engine with `bosun apply`, then measures in the same run:

- bosun: a no-op reconcile (load, validate, resolve, observe, plan; zero
  changes), in process (median of several) and as a `bosun plan` process;
- compose loop: `docker compose up -d` over the same 100 stacks, what most
  compose GitOps tools run every cycle (a first, untimed pass lets Compose
  converge to its own labels; the second pass is timed);
- Harbormaster: `harbormaster run` (PyPI docker-harbormaster, installed in its
  own virtual environment, /tmp/bosun-bench-harbormaster, kept for the next
  run) over the same stacks from a local Git repository (a first run clones
  and restarts; the second is timed).

Prints the figures side by side and removes every container, network, volume
and folder it created. Usage: `.venv/bin/python bench/noop_reconcile.py [N]`.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# This folder holds bench/dns.py: it must not shadow dnspython's `dns` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from providers.compose.cli import base_env, compose_command  # noqa: E402
from reconciler.pipeline import Reconciler, load_desired  # noqa: E402
from reconciler.provider import ApplyOptions  # noqa: E402
from reconciler.state import StateStore  # noqa: E402

IMAGE = "bosun.local/busybox:1"
HM_VENV = Path(os.environ.get("BOSUN_BENCH_HM_VENV", "/tmp/bosun-bench-harbormaster"))


def sh(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None,
       check: bool = True) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if check and out.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return out


def write_repo(repo: Path, names: list[str], owner: str) -> None:
    repo.mkdir(parents=True)
    (repo / "bosun.yaml").write_text(json.dumps({
        "apiVersion": "bosun/v1", "kind": "Repository", "metadata": {"name": "bench"},
        "spec": {"owner": owner}}))
    for name in names:
        folder = repo / name
        folder.mkdir()
        (folder / "compose.yaml").write_text(json.dumps({"services": {"app": {
            "image": IMAGE, "command": ["sleep", "1000000"], "pull_policy": "never",
            # 100 project networks would exhaust dockerd's default address pools
            # (about 30 networks) that other work on this daemon needs.
            "network_mode": "none"}}}))
        (folder / "stack.yaml").write_text(json.dumps({
            "apiVersion": "bosun/v1", "kind": "Stack", "metadata": {"name": name},
            "spec": {"compose": "compose.yaml"}}))


def ensure_harbormaster() -> Path:
    binary = HM_VENV / "bin" / "harbormaster"
    if not binary.exists():
        sh([sys.executable, "-m", "venv", str(HM_VENV)])
        sh([str(HM_VENV / "bin" / "pip"), "install", "-q", "docker-harbormaster"])
    return binary


def ensure_compose_plugin() -> None:
    # Harbormaster runs `docker compose`: the plugin must be linked.
    if sh(["docker", "compose", "version"], check=False).returncode != 0:
        sh(["bash", str(ROOT / "scripts" / "engines.sh"), "compose",
            str(ROOT / ".venv" / "bin" / "docker-compose")])


def compose_up(name: str, repo: Path) -> None:
    sh([*compose_command(), "--project-name", name, "--file", str(repo / name / "compose.yaml"),
        "up", "--detach"], env=base_env())


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    tag = uuid.uuid4().hex[:4]
    names = [f"bn{tag}-{i:03d}" for i in range(count)]
    work = Path(tempfile.mkdtemp(prefix="bosun-bench-"))
    repo = work / "repo"
    state = work / "state"
    write_repo(repo, names, owner=f"bench{tag}")
    figures: dict[str, float] = {}
    try:
        print(f"creating {count} stacks with bosun apply ...", flush=True)
        started = time.perf_counter()
        # As the CLI and `bosun serve` do: stack records in the state store.
        store = StateStore(state)
        rec = Reconciler(state_dir=state, provider_names=["compose"], kv=store,
                         options=ApplyOptions(concurrency=4, force=True, allow_empty=True))
        desired = load_desired(repo)
        plan = rec.plan(desired)
        report = rec.apply(plan, desired)
        if not report.ok or plan.errors:
            failed = [r.message for r in report.results if r.message][:3]
            raise SystemExit(f"setup failed: {failed} {plan.errors[:3]}")
        print(f"  created in {time.perf_counter() - started:.1f}s", flush=True)

        samples = []
        for _ in range(5):
            t0 = time.perf_counter()
            rec = Reconciler(state_dir=state, provider_names=["compose"], kv=store)
            plan = rec.plan(load_desired(repo))
            samples.append(time.perf_counter() - t0)
            if plan.changes or plan.errors:
                raise SystemExit(f"bosun's second plan is not empty: {plan.summary()} "
                                 f"{[c.reason for c in plan.changes[:3]]} {plan.errors[:3]}")
        figures["bosun no-op reconcile (in process, median of 5)"] = statistics.median(samples)
        store.close()
        t0 = time.perf_counter()
        out = sh([str(ROOT / ".venv" / "bin" / "bosun"), "plan", str(repo), "--provider",
                  "compose", "--state-dir", str(state), "--detailed-exitcode"])
        figures["bosun plan (a new process, CLI)"] = time.perf_counter() - t0
        assert "No changes." in out.stdout, out.stdout

        print("compose loop: first pass (untimed, converges to compose's own labels) ...",
              flush=True)
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda n: compose_up(n, repo), names))
        t0 = time.perf_counter()
        for name in names:
            compose_up(name, repo)
        figures["docker compose up -d loop (no-op pass)"] = time.perf_counter() - t0

        print("harbormaster: install, first run (untimed: clones, restarts) ...", flush=True)
        binary = ensure_harbormaster()
        ensure_compose_plugin()
        sh(["git", "init", "-q", "-b", "main", str(repo)])
        sh(["git", "-C", str(repo), "add", "-A"])
        sh(["git", "-C", str(repo), "-c", "user.name=bench", "-c", "user.email=b@x", "commit",
            "-q", "-m", "stacks"])
        hm_dir = work / "harbormaster"
        hm_dir.mkdir()
        (hm_dir / "harbormaster.yml").write_text(json.dumps({"apps": {
            name: {"url": str(repo), "branch": "main", "compose_config": f"{name}/compose.yaml"}
            for name in names}}))
        hm_cmd = [str(binary), "run", "--config", str(hm_dir / "harbormaster.yml"),
                  "--working-dir", str(hm_dir)]
        sh(hm_cmd, env={**os.environ, "DOCKER_HOST": "unix:///var/run/docker.sock"})
        t0 = time.perf_counter()
        out = sh(hm_cmd, env={**os.environ, "DOCKER_HOST": "unix:///var/run/docker.sock"})
        figures["harbormaster run (no-op pass)"] = time.perf_counter() - t0
        if "Stopping" in out.stdout:
            print("  note: harbormaster restarted apps on its timed run", flush=True)
    finally:
        print("cleaning up ...", flush=True)
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda n: sh([*compose_command(), "--project-name", n, "down",
                                        "--volumes", "--timeout", "1"], cwd=work,
                                       env=base_env(), check=False), names))
        shutil.rmtree(work, ignore_errors=True)

    bosun = figures["bosun no-op reconcile (in process, median of 5)"]
    width = max(len(k) for k in figures)
    print(f"\nNo-op reconcile of {count} unchanged stacks (same run, local Docker):")
    for key, seconds in figures.items():
        ratio = "" if seconds == bosun else f"  ({seconds / bosun:6.1f}x bosun)"
        print(f"  {key:<{width}}  {seconds:8.3f} s{ratio}")
    loop = figures.get("docker compose up -d loop (no-op pass)")
    if loop is not None:
        verdict = "met" if bosun < 1.0 and loop / bosun >= 20 else "NOT met"
        print(f"Target (bosun < 1 s and >= 20x faster than the compose loop): {verdict}")


if __name__ == "__main__":
    main()
