"""Run a saved Caddy case (tests/cases/caddy/<name>/) through plan and apply's config step.

A case is a repository (``repo/``), the live config read from a real Caddy
(``live.json``), the container list read from a real Docker
(``containers.json``, optional), and what bosun must make of them:
``plan.txt`` (one line per change) and ``expected.json`` (the config apply
sends). No engine is involved: the same functions that observe feeds are fed
the saved output.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from providers.caddy import planner
from providers.caddy.applier import Batch, next_config
from providers.caddy.state import CaddyObservation, EndpointState
from providers.caddy.upstreams import HostContainers, index_containers
from reconciler.model.common import Kind
from reconciler.model.desired import DesiredState
from reconciler.model.kinds import Gateway
from reconciler.model.plan import Change
from reconciler.pipeline import load_desired
from reconciler.provider import ProviderContext
from reconciler.secrets import Secrets

CASES = Path(__file__).resolve().parents[2] / "cases" / "caddy"
EMBEDDED = "unix:///nonexistent/embedded.sock"


@dataclass
class Case:
    name: str
    desired: DesiredState
    live: dict[str, Any]
    hosts: dict[str, HostContainers]
    ctx: ProviderContext

    @property
    def folder(self) -> Path:
        return CASES / self.name

    def endpoint(self) -> str:
        admins = {g.document.spec.admin for g in self.desired.of_kind(Kind.GATEWAY)
                  if isinstance(g.document, Gateway)}
        (url,) = admins
        assert url is not None
        return url

    def observation(self, config: dict[str, Any]) -> CaddyObservation:
        url = self.endpoint()
        return CaddyObservation(
            endpoints={url: EndpointState(url=url, etag="x", digest="x", config=config)},
            hosts=self.hosts,
        )

    def plan(self, config: dict[str, Any]) -> list[Change]:
        return planner.plan(self.desired, self.observation(config), self.ctx, EMBEDDED)

    def apply(self, changes: list[Change], config: dict[str, Any]) -> dict[str, Any]:
        """The config after every batch of ``changes``, applied one after another."""
        batches: dict[str, list[Change]] = defaultdict(list)
        for change in changes:
            batches[f"{change.payload['gateway']}@{change.payload['endpoint']}"].append(change)
        for key in sorted(batches):
            config, left_out = next_config(
                config, self.desired, Batch.of(batches[key]), self.ctx.owner, self.hosts, [],
                self.ctx.secrets)
            assert not left_out, left_out
        return config


def load_case(name: str, tmp: Path, environ: dict[str, str] | None = None) -> Case:
    folder = CASES / name
    desired = load_desired(folder / "repo")
    live = json.loads((folder / "live.json").read_text())
    hosts: dict[str, HostContainers] = {}
    containers = folder / "containers.json"
    if containers.exists():
        raws = json.loads(containers.read_text())
        stacks = {r.ref.name for r in desired.of_kind(Kind.STACK)}
        hosts["local"] = HostContainers(host="local", address="127.0.0.1",
                                        services=index_containers(raws, stacks))
    ctx = ProviderContext(state_dir=tmp, owner=desired.owner,
                          secrets=Secrets(desired, environ or {}))
    return Case(name=name, desired=desired, live=live, hosts=hosts, ctx=ctx)


def plan_lines(changes: list[Change]) -> list[str]:
    return [f"{c.action.mark} {c.ref}: {c.reason}" for c in
            sorted(changes, key=lambda c: (c.ref.kind.value, c.ref.name))]
