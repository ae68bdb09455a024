"""The command line imports a command's module only when it runs.

``bosun --help`` lists commands from the short help in ``COMMANDS``, which
must say what each command's own docstring says; ``bosun plan`` of a DNS
repository must not drag in the web server, Git, Caddy's client or Docker.
"""

from __future__ import annotations

import importlib
import inspect
import json
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from reconciler.cli import COMMANDS, cli

HEAVY = ("starlette", "uvicorn", "pygit2", "apscheduler", "jinja2", "prometheus_client",
         "httpx", "docker", "bcrypt", "jsonschema", "watchdog", "rich")


def _loaded_after(args: list[str], cwd: Path) -> dict[str, object]:
    """Run ``bosun ARGS`` in a fresh interpreter; the heavy modules it imported."""
    code = f"""
import json, sys
from reconciler.cli import cli
try:
    cli.main({args!r}, prog_name="bosun", standalone_mode=False)
    code = 0
except SystemExit as exc:
    code = exc.code
heavy = {HEAVY!r}
print(json.dumps({{"exit": code, "loaded": sorted(m for m in heavy if m in sys.modules)}}))
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True,
                         timeout=120, check=True)
    last: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return last


def test_registered_help_is_the_commands_own() -> None:
    for name, (module, attribute, short) in COMMANDS.items():
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        assert command.help is not None
        first = inspect.cleandoc(command.help).split("\n\n")[0]
        assert short == first, name


def test_help_lists_every_command_like_click_does() -> None:
    out = CliRunner().invoke(cli, ["--help"])
    assert out.exit_code == 0
    listed = out.output.split("Commands:\n", 1)[1]
    names = [line.split()[0] for line in listed.splitlines() if line.strip()]
    assert names == sorted(COMMANDS)
    assert "Check the repository at PATH: syntax, schema, references,..." in listed


def test_help_imports_no_command(tmp_path: Path) -> None:
    code = ("import sys\nfrom reconciler.cli import cli\n"
            "try:\n    cli.main(['--help'], prog_name='bosun')\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith(('reconciler.cli.', "
            "'pydantic', 'providers'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_unknown_command_is_an_error() -> None:
    out = CliRunner().invoke(cli, ["nosuch"])
    assert out.exit_code == 2
    assert "No such command 'nosuch'" in out.output


def test_plan_of_a_dns_repository_imports_nothing_heavy(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    # Port 1 on loopback: nothing listens, the read fails and plan exits 1.
    (repo / "dns.yaml").write_text("""\
apiVersion: bosun/v1
kind: DNSZone
metadata: {name: example}
spec: {zone: example.com, server: "127.0.0.1:1", ownership: authoritative}
---
apiVersion: bosun/v1
kind: DNSRecord
metadata: {name: www}
spec: {zone: example, name: www, type: A, values: [192.0.2.1]}
""")
    found = _loaded_after(["plan", str(repo), "--provider", "dns", "--state-dir",
                           str(tmp_path / "state")], tmp_path)
    assert found == {"exit": 1, "loaded": []}
    found = _loaded_after(["validate", str(repo)], tmp_path)
    assert found == {"exit": 0, "loaded": []}


def test_main_pauses_the_collector_for_imports_only(tmp_path: Path) -> None:
    (tmp_path / "bosun.yaml").write_text(
        "apiVersion: bosun/v1\nkind: Repository\nmetadata: {name: r}\nspec: {owner: t}\n")
    code = f"""
import gc, sys
from reconciler import cli
seen = []
original = cli._setup_logs
def spy(verbose):
    seen.append(gc.isenabled())
    original(verbose)
cli._setup_logs = spy
for args in (["validate", {str(tmp_path)!r}], ["--help"]):
    sys.argv = ["bosun", *args]
    try:
        cli.main()
    except SystemExit:
        pass
    seen.append(gc.isenabled())
print(seen, gc.get_freeze_count() > 1000)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                         text=True, timeout=60, check=True)
    # Collecting while the command runs, after the import; and after --help too.
    assert out.stdout.strip().splitlines()[-1] == "[True, True, True] True"
