"""Fixtures for the Caddy provider's tests against real Caddy, Docker and pebble."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from providers.caddy.embedded import EmbeddedCaddy
from reconciler.cli import cli
from tests.integration.caddy.engines import AdminProxy, CaddyProcess, caddy_process


class Bosun:
    """Runs the real ``bosun`` command line in-process on one repository."""

    def __init__(self, repo: Path, state_dir: Path, environ: dict[str, str] | None = None):
        self.repo = repo
        self.state_dir = state_dir
        self.environ = environ or {}
        self.repo.mkdir(parents=True, exist_ok=True)
        (self.repo / "bosun.yaml").write_text(
            "apiVersion: bosun/v1\nkind: Repository\nmetadata: {name: test}\n"
            "spec: {owner: bosun}\n")

    def write(self, text: str, name: str = "gateway.yaml") -> None:
        (self.repo / name).write_text(text)

    def __call__(self, *args: str) -> Result:
        runner = CliRunner()
        command = [args[0], str(self.repo), "--state-dir", str(self.state_dir), *args[1:]]
        return runner.invoke(cli, command, env=self.environ, catch_exceptions=False)

    def gateway(self, command: str) -> Result:
        return CliRunner().invoke(cli, ["gateway", command, str(self.repo), "--state-dir",
                                        str(self.state_dir)], catch_exceptions=False)

    def plan(self, *args: str) -> Result:
        return self("plan", "--provider", "caddy", "--detailed-exitcode", *args)

    def apply(self, *args: str) -> Result:
        return self("apply", "--provider", "caddy", *args)


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A folder with a short path (unix sockets live in it)."""
    folder = Path(tempfile.mkdtemp(prefix="bosun-t-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def caddy() -> Iterator[CaddyProcess]:
    with caddy_process() as process:
        yield process


@pytest.fixture
def proxy(caddy: CaddyProcess) -> Iterator[AdminProxy]:
    counting = AdminProxy(socket=caddy.socket)
    counting.start()
    try:
        yield counting
    finally:
        counting.stop()


@pytest.fixture
def bosun(short_dir: Path) -> Iterator[Bosun]:
    runner = Bosun(short_dir / "repo", short_dir / "state")
    try:
        yield runner
    finally:
        EmbeddedCaddy(runner.state_dir).stop()
