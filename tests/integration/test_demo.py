"""``scripts/demo.sh`` (what ``make demo`` runs) from a clean state, stopped with Ctrl-C.

The quickstart is copied with a stack name, an owner and ports of this test's
own, so that it runs beside another demo or a leftover project named ``web``.
Whatever happens, the test ends with ``demo.sh clean``: no Caddy, no bosun
and no container of the demo outlives it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import uuid
from pathlib import Path

import docker
import pytest

from providers.caddy.embedded import EmbeddedCaddy
from tests.gitrepo import git
from tests.integration.caddy.engines import free_ports
from tests.serving import wait_for

ROOT = Path(__file__).resolve().parents[2]
DEMO_SH = ROOT / "scripts/demo.sh"

pytestmark = [pytest.mark.docker, pytest.mark.caddy, pytest.mark.slow]


def own_example(folder: Path, stack: str, owner: str) -> Path:
    """examples/quickstart with this test's stack name, owner and free ports."""
    shutil.copytree(ROOT / "examples/quickstart", folder)
    web, http, https = free_ports(3)
    edits = {
        "bosun.yaml": [("owner: quickstart", f"owner: {owner}")],
        "gateway.yaml": [("127.0.0.1:8880", f"127.0.0.1:{http}"),
                         ("127.0.0.1:8443", f"127.0.0.1:{https}")],
        "stacks/web/stack.yaml": [("  name: web\n  labels:", f"  name: {stack}\n  labels:"),
                                  ("{stack: web,", f"{{stack: {stack},"),
                                  ("      stack: web\n", f"      stack: {stack}\n"),
                                  ('WEB_PORT: "18081"', f'WEB_PORT: "{web}"')],
    }
    for name, pairs in edits.items():
        path = folder / name
        text = path.read_text()
        for old, new in pairs:
            assert old in text, f"{name} no longer holds {old!r}: update this test"
            text = text.replace(old, new)
        path.write_text(text)
    return folder


def owned_containers(owner: str) -> list[str]:
    client = docker.APIClient(base_url="unix:///var/run/docker.sock")
    try:
        return [c["Id"] for c in client.containers(
            all=True, filters={"label": [f"bosun.owner={owner}"]})]
    finally:
        client.close()


def test_demo_edit_commit_push_applied_and_ctrl_c(tmp_path: Path) -> None:
    tag = uuid.uuid4().hex[:8]
    stack, owner = f"demo-web-{tag}", f"demo-{tag}"
    demo = tmp_path / "demo"
    example = own_example(tmp_path / "example", stack, owner)
    env = {**os.environ, "BOSUN_DEMO_DIR": str(demo), "BOSUN_DEMO_PORT": "0",
           "BOSUN_DEMO_EXAMPLE": str(example)}

    def clean() -> None:
        subprocess.run([str(DEMO_SH), "clean"], env=env, check=True, capture_output=True,
                       timeout=120)

    clean()  # what an earlier, interrupted run of this demo left
    proc = subprocess.Popen([str(DEMO_SH)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    bosun = str(ROOT / ".venv/bin/bosun")
    state = demo / "state"

    def status() -> dict[str, object]:
        done = subprocess.run([bosun, "status", "--state-dir", str(state), "-o", "json"],
                              capture_output=True, text=True, check=False)
        return json.loads(done.stdout) if done.returncode == 0 else {}

    def applied_sha() -> str:
        body = status()
        sources = body.get("sources") or []
        run = body.get("last_run") or {}
        if not sources or not isinstance(run, dict) or run.get("state") != "succeeded":
            return ""
        return str(sources[0]["revision"])  # type: ignore[index]

    output = ""
    caddy_after: int | None = None
    running_after: list[str] = []
    try:
        first = wait_for(applied_sha, timeout=90, interval=0.5, what="the quickstart applied")
        assert EmbeddedCaddy(state).pid() is not None, "the demo runs its own Caddy"
        clone = demo / "quickstart"
        stack_file = clone / "stacks/web/stack.yaml"
        stack_file.write_text(stack_file.read_text().replace("Hello from bosun",
                                                             "Hello from a test"))
        git(clone, "commit", "-qam", "a new greeting")
        pushed = subprocess.run(["git", "push"], cwd=clone, capture_output=True, text=True,
                                check=True)
        assert "bosun: accepted" in pushed.stderr, pushed.stderr
        sha = git(clone, "rev-parse", "HEAD")
        wait_for(lambda: applied_sha() == f"main@sha1:{sha}" and applied_sha(), timeout=60,
                 interval=0.5, what="the pushed greeting applied")
        assert first != applied_sha()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends
        try:
            output, _ = proc.communicate(timeout=150)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
        caddy_after = EmbeddedCaddy(state).pid()
        running_after = owned_containers(owner)
        clean()
    assert proc.returncode == 0, output
    assert "bosun stopped cleanly" in output
    assert "Your repository" in output and "Ctrl-C" in output
    assert caddy_after is None, f"Ctrl-C left the demo's Caddy running:\n{output}"
    assert running_after, "the deployed containers keep running after Ctrl-C"
    assert not demo.exists()
    assert owned_containers(owner) == []
