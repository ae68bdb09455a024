"""Time from ``git push`` to the new revision's container running, over 20 pushes.

A one-service stack from the local image ``bosun.local/busybox:1`` is followed
by ``bosun serve`` (a real subprocess) through a bare repository on disk.
Each round edits the stack's environment, commits and pushes; the remote's
post-receive hook sends bosun a signed webhook (as GitHub would), and the
clock stops when Docker reports a running container carrying the new value.
Prints the median, the 95th percentile and the spread.

    .venv/bin/python bench/push_to_running.py [--rounds 20] [--provider compose]

``--memory`` runs the same loop against the memory provider (no Docker): it
measures bosun's own share (webhook, fetch, plan, record) and checks the harness.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import docker

ROOT = Path(__file__).resolve().parents[1]
BOSUN = ROOT / ".venv" / "bin" / "bosun"
PYTHON = ROOT / ".venv" / "bin" / "python"
IMAGE = "bosun.local/busybox:1"

NOTIFY = '''
import hashlib, hmac, json, sys, urllib.request
secret = open(sys.argv[1], "rb").read().strip()
url = sys.argv[2]
for line in sys.stdin:
    before, after, ref = line.split()
    body = json.dumps({"ref": ref, "after": after}).encode()
    sig = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    req = urllib.request.Request(url, data=body, method="POST",
                                 headers={"X-Bosun-Signature-256": sig})
    urllib.request.urlopen(req, timeout=5).read()
'''


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@bosun.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@bosun.invalid"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def manifest(name: str, version: int) -> str:
    return f"""\
apiVersion: bosun/v1
kind: Stack
metadata: {{name: {name}}}
spec:
  compose:
    services:
      app:
        image: {IMAGE}
        command: [sleep, "3600"]
        environment: {{BENCH_VERSION: "{version}"}}
        stop_grace_period: 1s
"""


def running_version_docker(client: Any, name: str) -> str | None:
    """BENCH_VERSION of the running container bosun made for the stack (owner = name)."""
    for c in client.containers(filters={"label": [f"bosun.owner={name}"],
                                        "status": "running"}):
        try:
            env = client.inspect_container(c["Id"])["Config"].get("Env") or []
        except docker.errors.NotFound:
            continue  # removed between the list and the inspect (a recreate)
        for item in env:
            if item.startswith("BENCH_VERSION="):
                return str(item.split("=", 1)[1])
    return None


def running_version_memory(state: Path, name: str) -> str | None:
    try:
        body = json.loads((state / "memory.json").read_text())
    except (OSError, ValueError):
        return None
    obj = body["objects"].get(f"Stack/{name}")
    if obj is None:
        return None
    env = obj["spec"]["spec"]["compose"]["services"]["app"]["environment"]
    return str(env["BENCH_VERSION"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--provider", action="append", default=None)
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    providers = ["memory"] if args.memory else (args.provider or ["compose"])
    name = f"bench-{secrets.token_hex(3)}"
    base = Path(tempfile.mkdtemp(prefix="bosun-bench-"))
    remote, clone, state = base / "remote.git", base / "clone", base / "state"
    port = free_port()
    (base / "secret").write_text(secrets.token_hex(16))
    (base / "notify.py").write_text(NOTIFY)
    git(base, "init", "-q", "--bare", "--initial-branch=main", str(remote))
    hook = remote / "hooks" / "post-receive"
    hook.write_text(f'#!/bin/sh\nexec "{PYTHON}" "{base / "notify.py"}" "{base / "secret"}" '
                    f'"http://127.0.0.1:{port}/hooks/generic"\n')
    hook.chmod(0o755)
    git(base, "init", "-q", "--initial-branch=main", str(clone))
    (clone / "bosun.yaml").write_text(
        f"apiVersion: bosun/v1\nkind: Repository\nmetadata: {{name: bench}}\n"
        f"spec: {{owner: {name}}}\n")
    (clone / "stack.yaml").write_text(manifest(name, 0))
    git(clone, "add", "-A")
    git(clone, "commit", "-qm", "round 0")
    git(clone, "remote", "add", "origin", str(remote))

    if args.memory:
        def probe() -> str | None:
            return running_version_memory(state, name)
    else:
        client = docker.APIClient(base_url="unix:///var/run/docker.sock")

        def probe() -> str | None:
            return running_version_docker(client, name)

    cmd = [str(BOSUN), "serve", "--repo", str(remote), "--state-dir", str(state),
           "--listen", f"127.0.0.1:{port}", "--interval", "1h",
           "--webhook-secret-file", str(base / "secret")]
    for p in providers:
        cmd += ["--provider", p]
    log = (base / "serve.log").open("w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    times: list[float] = []
    try:
        git(clone, "push", "-q", "origin", "main")
        deadline = time.monotonic() + args.timeout
        while probe() != "0":
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"the first revision never ran; see {base / 'serve.log'}")
            time.sleep(0.05)
        for n in range(1, args.rounds + 1):
            (clone / "stack.yaml").write_text(manifest(name, n))
            git(clone, "commit", "-qam", f"round {n}")
            start = time.monotonic()
            git(clone, "push", "-q", "origin", "main")
            while probe() != str(n):
                if time.monotonic() - start > args.timeout:
                    raise SystemExit(f"round {n} never ran; see {base / 'serve.log'}")
                time.sleep(0.01)
            times.append(time.monotonic() - start)
            print(f"  push {n:2d}: {times[-1]:.3f}s", flush=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        if not args.memory:
            ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=bosun.owner={name}"],
                                 capture_output=True, text=True, check=False).stdout.split()
            if ids:
                subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=False)
            nets = subprocess.run(["docker", "network", "ls", "-q", "--filter",
                                   f"label=bosun.owner={name}"],
                                  capture_output=True, text=True, check=False).stdout.split()
            if nets:
                subprocess.run(["docker", "network", "rm", *nets], capture_output=True,
                               check=False)
        if times:
            shutil.rmtree(base, ignore_errors=True)
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    what = "applied (memory provider)" if args.memory else "container running"
    print(f"push_to_running: {len(times)} pushes, git push -> {what}")
    print(f"  median {statistics.median(times):.3f}s  p95 {p95:.3f}s  "
          f"min {ordered[0]:.3f}s  max {ordered[-1]:.3f}s  (target: median < 2s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
