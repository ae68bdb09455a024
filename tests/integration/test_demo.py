"""``scripts/demo.sh`` (what ``make demo`` runs) from a clean state, stopped with Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.gitrepo import git
from tests.serving import wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_edit_commit_push_applied_and_ctrl_c(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    env = {**os.environ, "BOSUN_DEMO_DIR": str(demo), "BOSUN_DEMO_PORT": "0"}
    proc = subprocess.Popen([str(ROOT / "scripts/demo.sh")], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
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

    try:
        first = wait_for(applied_sha, timeout=90, interval=0.5, what="the quickstart applied")
        clone = demo / "quickstart"
        stack = clone / "stacks/web/stack.yaml"
        stack.write_text(stack.read_text().replace("Hello from bosun", "Hello from a test"))
        git(clone, "commit", "-qam", "a new greeting")
        pushed = subprocess.run(["git", "push"], cwd=clone, capture_output=True, text=True,
                                check=True)
        assert "bosun: accepted" in pushed.stderr, pushed.stderr
        sha = git(clone, "rev-parse", "HEAD")
        wait_for(lambda: applied_sha() == f"main@sha1:{sha}" and applied_sha(), timeout=60,
                 interval=0.5, what="the pushed greeting applied")
        assert first != applied_sha()
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        output, _ = proc.communicate(timeout=150)
    assert proc.returncode == 0, output
    assert "bosun stopped cleanly" in output
    assert "Your repository" in output and "Ctrl-C" in output
    subprocess.run([str(ROOT / "scripts/demo.sh"), "clean"], env=env, check=True,
                   capture_output=True)
    assert not demo.exists()
