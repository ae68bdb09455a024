"""``bosun schema export`` and ``bosun init``."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli.common import fail, handle_errors
from reconciler.schema import export


@click.group()
def schema() -> None:
    """JSON Schemas of bosun's manifests, for editors and CI."""


@schema.command("export")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path),
              default=Path("schemas"), show_default=True, help="Folder to write into.")
@handle_errors
def schema_export(out: Path) -> None:
    """Write one JSON Schema per kind, and bosun.json for any document."""
    written = export(out)
    click.echo(f"Wrote {len(written)} schemas to {out}/")


_BOSUN_YAML = """\
# yaml-language-server: $schema=https://bosun.dev/schemas/v1/repository.json
apiVersion: bosun/v1
kind: Repository
metadata: {name: repository}
spec:
  paths: ["."]          # folders whose YAML files bosun reads
  owner: bosun          # written on everything bosun creates; prune touches only this
  statusBranch: bosun-status
"""

_STACK_YAML = """\
# yaml-language-server: $schema=https://bosun.dev/schemas/v1/bosun.json
apiVersion: bosun/v1
kind: Stack
metadata: {name: hello, labels: {team: web}}
spec:
  host: local
  compose: compose.yaml
  env:
    GREETING: hello from bosun
  health: {timeout: 60s}
"""

_COMPOSE_YAML = """\
services:
  web:
    image: bosun.local/busybox:1
    command:
      - sh
      - -c
      - mkdir -p /www && echo "$$GREETING" > /www/index.html && exec httpd -f -p 8080 -h /www
    environment:
      GREETING: ${GREETING}
    ports: ["127.0.0.1:18080:8080"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "-", "http://127.0.0.1:8080/"]
      interval: 2s
      retries: 10
"""

_GATEWAY_YAML = """\
# yaml-language-server: $schema=https://bosun.dev/schemas/v1/bosun.json
apiVersion: bosun/v1
kind: Gateway
metadata: {name: edge}
spec:
  listen: {http: "127.0.0.1:8880", https: "127.0.0.1:8443"}
  tls: {issuer: internal}
---
apiVersion: bosun/v1
kind: Route
metadata: {name: hello}
spec:
  gateway: edge
  hosts: [hello.localhost]
  to: {stack: hello, service: web, port: 8080}
  tls: off
"""


@click.command()
@click.argument("path", type=click.Path(file_okay=False, path_type=Path), default=".")
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@handle_errors
def init(path: Path, force: bool) -> None:
    """Scaffold a bosun repository at PATH that validates."""
    files = {
        "bosun.yaml": _BOSUN_YAML,
        "stacks/hello/stack.yaml": _STACK_YAML,
        "stacks/hello/compose.yaml": _COMPOSE_YAML,
        "gateway.yaml": _GATEWAY_YAML,
        ".gitignore": ".bosun/\n",
    }
    existing = [name for name in files if (path / name).exists()]
    if existing and not force:
        fail(f"{', '.join(existing)} already exist in {path}; pass --force to overwrite")
    for name, text in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        click.echo(f"  created {target}")
    click.echo(f"\nNext: bosun validate {path} && bosun plan {path}")
