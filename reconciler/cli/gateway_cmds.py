"""``bosun gateway status`` and ``bosun gateway stop``: bosun's own Caddy.

A Gateway without ``admin`` runs on the embedded Caddy of the state folder;
``bosun apply`` starts it when needed and ``bosun serve`` keeps it alive (and
leaves it serving when serve stops). These commands show it and stop it (its
config is kept and resumed on the next start).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from providers.caddy.client import AdminClient
from providers.caddy.embedded import EmbeddedCaddy
from providers.caddy.supervisor import supervised_by
from reconciler.cli.common import default_state_dir, handle_errors, path_argument, state_dir_option
from reconciler.errors import BosunError


def _embedded(path: Path, state_dir: Path | None) -> EmbeddedCaddy:
    return EmbeddedCaddy(state_dir or default_state_dir(path.resolve()))


def _counts(config: dict[str, Any]) -> dict[str, int]:
    servers = (((config.get("apps") or {}).get("http") or {}).get("servers")) or {}
    ours = [s for k, s in servers.items() if k.startswith("bosun-") and isinstance(s, dict)]
    return {
        "servers": len(servers),
        "bosun_servers": len(ours),
        "bosun_routes": sum(len(s.get("routes") or []) for s in ours),
    }


@click.group()
def gateway() -> None:
    """bosun's own Caddy, used by Gateways that have no 'admin'."""


@gateway.command("status")
@path_argument
@state_dir_option
@click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@handle_errors
def status(path: Path, state_dir: Path | None, output: str) -> None:
    """Show whether the embedded Caddy of PATH's state folder runs, and where."""
    caddy = _embedded(path, state_dir)
    info = caddy.status()
    info["supervised_by"] = supervised_by(caddy.paths.root.parent)
    config: dict[str, Any] = {}
    if info["running"]:
        try:
            with AdminClient(caddy.url) as client:
                config = client.read().config
        except BosunError as exc:
            info["error"] = str(exc)
    elif caddy.exists():
        config = caddy.resumable_config()
    info.update(_counts(config))
    if output == "json":
        click.echo(json.dumps(info, indent=2))
        return
    state = f"running (pid {info['pid']})" if info["running"] else "not running"
    click.echo(f"embedded Caddy: {state}")
    if info["supervised_by"] is not None:
        click.echo(f"  supervised by bosun serve (pid {info['supervised_by'] or '?'})")
    click.echo(f"  admin:   {info['admin']}")
    click.echo(f"  log:     {info['log']}")
    click.echo(f"  config:  {info['config']} (resumed on start)")
    click.echo(f"  root CA: {info['root_ca']}")
    click.echo(f"  servers: {info['servers']} ({info['bosun_servers']} of bosun, "
               f"{info['bosun_routes']} routes in them)")
    if "error" in info:
        click.echo(f"  error:   {info['error']}")


@gateway.command("stop")
@path_argument
@state_dir_option
@handle_errors
def stop(path: Path, state_dir: Path | None) -> None:
    """Stop the embedded Caddy of PATH's state folder; its config is kept.

    The next 'bosun apply' (or 'bosun serve') starts it again with that config.
    A running 'bosun serve' supervises it and starts it again within seconds:
    stop serve first to keep it stopped.
    """
    caddy = _embedded(path, state_dir)
    pid = caddy.stop()
    if pid is None:
        click.echo("embedded Caddy is not running.")
    else:
        click.echo(f"stopped embedded Caddy (pid {pid}).")
    serving = supervised_by(caddy.paths.root.parent)
    if serving is not None:
        click.echo(f"bosun: bosun serve (pid {serving or '?'}) supervises this Caddy and starts "
                   "it again within seconds; stop bosun serve first to keep it stopped",
                   err=True)
