"""``bosun serve`` keeps the embedded Caddy alive, and leaves it serving when it stops.

A real ``bosun serve`` process (local mode, Caddy provider only) on a
repository whose Gateway has no ``admin``; its route goes to a loopback HTTP
server of the test. Caddy killed with SIGKILL is started again by serve's
supervisor with its saved config (no reconcile needed: the poll is an hour
away), and the store has an event on the Gateway. serve's SIGTERM leaves Caddy
serving; a second serve adopts it; ``bosun gateway stop`` stops it. Every Caddy
started here is stopped by its pid at the end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from providers.caddy import EmbeddedCaddy
from providers.caddy.service import Supervision
from providers.caddy.supervisor import supervised_by
from reconciler.model.common import Kind, ResourceRef
from reconciler.pipeline import load_desired
from reconciler.runtime.services import RuntimeServiceHost
from reconciler.state import EventLevel, StateStore
from tests.integration.caddy.conftest import Bosun
from tests.integration.caddy.engines import free_ports, get_via, text_upstream, unique, wait_for

pytestmark = pytest.mark.caddy

BOSUN = Path(sys.executable).with_name("bosun")
EDGE = ResourceRef(kind=Kind.GATEWAY, name="edge")


@pytest.fixture
def upstream() -> Iterator[int]:
    with text_upstream("hello through the embedded Caddy") as port:
        yield port


def write_repo(repo: Path, http_port: int, https_port: int, upstream: int,
               header: str = "one") -> None:
    repo.mkdir(parents=True, exist_ok=True)
    if not (repo / "bosun.yaml").exists():
        (repo / "bosun.yaml").write_text(
            "apiVersion: bosun/v1\nkind: Repository\nmetadata: {name: test}\n"
            f"spec: {{owner: {unique('sup')}}}\n")
    (repo / "gateway.yaml").write_text(f"""\
apiVersion: bosun/v1
kind: Gateway
metadata: {{name: edge}}
spec:
  listen: {{http: "127.0.0.1:{http_port}", https: "127.0.0.1:{https_port}"}}
  tls: {{issuer: internal}}
---
apiVersion: bosun/v1
kind: Route
metadata: {{name: hello}}
spec:
  gateway: edge
  hosts: [hello.example.test]
  tls: "off"
  headers: {{X-Version: {header}}}
  to: {{url: "http://127.0.0.1:{upstream}"}}
""")


def serves(port: int) -> bool:
    try:
        answer = get_via(port, "hello.example.test", tls=False)
    except httpx.HTTPError:
        return False
    return answer.status_code == 200 and answer.text == "hello through the embedded Caddy"


def caddy_processes(caddy: EmbeddedCaddy) -> list[int]:
    """Every process running this state folder's Caddy (its initial config in argv)."""
    mark = str(caddy.paths.initial).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if mark in argv and b"run" in argv:
            found.append(int(entry.name))
    return found


class Serve:
    """One ``bosun serve`` process; its output goes to a file (read when it ends)."""

    def __init__(self, repo: Path, state: Path, log: Path) -> None:
        self.log = log
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                [str(BOSUN), "serve", "--path", str(repo), "--state-dir", str(state),
                 "--listen", "127.0.0.1:0", "--interval", "1h", "--provider", "caddy",
                 "--no-status-branch"],
                stdout=out, stderr=subprocess.STDOUT, text=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def output(self) -> str:
        return self.log.read_text()

    def terminate(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        return self.output()


def test_serve_restarts_a_killed_caddy_and_leaves_it_serving_when_it_stops(
        short_dir: Path, upstream: int) -> None:
    repo, state = short_dir / "repo", short_dir / "state"
    http_port, https_port = free_ports(2)
    write_repo(repo, http_port, https_port, upstream)
    caddy = EmbeddedCaddy(state)
    first: Serve | None = None
    second: Serve | None = None
    try:
        first = Serve(repo, state, short_dir / "serve1.log")
        wait_for(lambda: serves(http_port), 60, "the route through the embedded Caddy")
        wait_for(lambda: supervised_by(state) == first.pid, 20, "serve to supervise Caddy")
        started = caddy.pid()
        assert started is not None
        assert caddy_processes(caddy) == [started]

        killed_at = datetime.now(UTC)
        os.kill(started, signal.SIGKILL)
        wait_for(lambda: caddy.pid() not in (None, started), 15, "serve to start Caddy again")
        restarted = caddy.pid()
        assert restarted is not None
        wait_for(lambda: serves(http_port), 10, "the route with Caddy's saved config")
        assert caddy_processes(caddy) == [restarted]
        assert first.proc.poll() is None

        # bosun gateway stop while serve supervises: stopped, said, started again
        stopped = subprocess.run(
            [str(BOSUN), "gateway", "stop", str(repo), "--state-dir", str(state)],
            capture_output=True, text=True, timeout=60, check=False)
        assert stopped.returncode == 0, stopped.stderr
        assert stopped.stdout.strip() == f"stopped embedded Caddy (pid {restarted})."
        assert f"bosun serve (pid {first.pid}) supervises this Caddy" in stopped.stderr
        wait_for(lambda: caddy.pid() not in (None, restarted), 15, "serve to start it again")
        wait_for(lambda: serves(http_port), 10, "the route after 'gateway stop' under serve")
        kept = caddy.pid()

        output = first.terminate()
        assert first.proc.returncode == 0, output
        assert "embedded Caddy had stopped; started it again" in output
        assert f"stopped supervising the embedded Caddy (pid {kept}); it keeps serving" in output
        assert caddy.pid() == kept and serves(http_port), "serve's SIGTERM stopped Caddy"
        assert supervised_by(state) is None

        store = StateStore(state)
        try:
            restarts = [e for e in store.events(200) if "started it again" in e.message]
            runs = store.runs(50)
        finally:
            store.close()
        assert len(restarts) == 2, output
        assert all(e.level is EventLevel.WARNING and e.ref == EDGE for e in restarts)
        # the routes came back from Caddy's saved config, not from a reconcile
        assert runs and all(r.started_at < killed_at for r in runs)

        second = Serve(repo, state, short_dir / "serve2.log")
        wait_for(lambda: supervised_by(state) == second.pid, 60, "a second serve to adopt it")
        assert caddy.pid() == kept
        assert caddy_processes(caddy) == [kept], "a second serve started a second Caddy"
        output = second.terminate()
        assert second.proc.returncode == 0, output
        assert "started embedded Caddy" not in output
        assert caddy.pid() == kept and serves(http_port)

        stopped = subprocess.run(
            [str(BOSUN), "gateway", "stop", str(repo), "--state-dir", str(state)],
            capture_output=True, text=True, timeout=60, check=False)
        assert stopped.returncode == 0, stopped.stderr
        assert stopped.stdout.strip() == f"stopped embedded Caddy (pid {kept})."
        assert "supervises" not in stopped.stderr
        assert caddy.pid() is None and not caddy_processes(caddy)
        assert not serves(http_port)
    finally:
        for serve in (first, second):
            if serve is not None:
                serve.terminate()
        caddy.stop()
        for pid in caddy_processes(caddy):  # one that lost its pid file: by pid still
            os.kill(pid, signal.SIGKILL)


def test_apply_says_whether_it_started_caddy_or_used_the_running_one(
        short_dir: Path, upstream: int) -> None:
    bosun = Bosun(short_dir / "repo", short_dir / "state")
    http_port, https_port = free_ports(2)
    caddy = EmbeddedCaddy(bosun.state_dir)
    try:
        write_repo(bosun.repo, http_port, https_port, upstream)
        applied = bosun.apply()
        assert applied.exit_code == 0, applied.output
        pid = caddy.pid()
        assert pid is not None
        assert (f"bosun: started embedded Caddy in the background (pid {pid}, admin "
                f"{caddy.url}") in applied.stderr
        assert "'bosun gateway stop' stops it" in applied.stderr
        assert "using the running" not in applied.stderr
        wait_for(lambda: serves(http_port), 20, "the route")

        write_repo(bosun.repo, http_port, https_port, upstream, header="two")
        again = bosun.apply()
        assert again.exit_code == 0, again.output
        assert f"bosun: using the running embedded Caddy (pid {pid})" in again.stderr
        assert "started embedded Caddy" not in again.stderr
        assert caddy.pid() == pid
        assert get_via(http_port, "hello.example.test", tls=False).headers["X-Version"] == "two"
        assert "supervised by" not in bosun.gateway("status").output
    finally:
        caddy.stop()


def test_supervision_follows_the_desired_state(short_dir: Path, upstream: int) -> None:
    """Supervised while a Gateway has no 'admin'; when none has, no longer, and Caddy stays."""
    repo, state = short_dir / "repo", short_dir / "state"
    http_port, https_port = free_ports(2)
    write_repo(repo, http_port, https_port, upstream)
    with_gateway = load_desired(repo)
    (repo / "gateway.yaml").unlink()
    without = load_desired(repo)
    store = StateStore(state)
    supervision = Supervision(interval=0.2)
    caddy = EmbeddedCaddy(state)
    try:
        supervision.follow(with_gateway, state)
        assert supervision.supervisor is None, "supervised outside bosun serve"
        supervision.start(RuntimeServiceHost(store, lambda request: True, lambda: False))
        supervision.follow(with_gateway, state)
        supervisor = supervision.supervisor
        assert supervisor is not None and supervisor.pid == caddy.pid() is not None
        assert supervised_by(state) == os.getpid()

        supervision.follow(without, state)
        assert supervision.supervisor is None
        assert supervised_by(state) is None
        assert caddy.pid() == supervisor.pid, "Caddy keeps running, unsupervised"
        assert any("no Gateway uses the embedded Caddy any more" in e.message
                   for e in store.events(20))

        supervision.follow(with_gateway, state)
        assert supervision.supervisor is not None
        assert supervision.stop(5.0)
        assert supervised_by(state) is None and caddy.pid() is not None
        supervision.follow(with_gateway, state)
        assert supervision.supervisor is None, "supervised again after serve stopped"
    finally:
        supervision.stop(5.0)
        caddy.stop()
        store.close()
