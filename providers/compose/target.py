"""The model bosun hands to Compose: the render plus bosun's ownership labels.

render -> **target** -> plan (expected labels and config hashes) / apply (stdin of `up`)

Every container, network and volume gets ``bosun.owner``, ``bosun.resource``,
``bosun.revision`` and ``bosun.digest``. Labels are part of Compose's config
hash, so they must not change for what does not change: a service's
``bosun.digest`` is the digest of its own rendered configuration plus the
contents of the repository files it mounts or builds from, and its
``bosun.revision`` stays the revision that last changed that digest. A volume
that exists keeps the labels it was created with (Compose would otherwise
offer to recreate it, and its data with it); a network keeps its labels while
its definition is unchanged.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from providers.compose.observed import (
    DIGEST,
    OWNER,
    RESOURCE,
    REVISION,
    HostState,
    Project,
)
from providers.compose.render import RenderFacts, ServiceFacts, path_digest
from reconciler.model.digest import digest

Labels = dict[str, str]


@dataclass
class StackLabels:
    services: dict[str, Labels] = field(default_factory=dict)
    networks: dict[str, Labels] = field(default_factory=dict)
    volumes: dict[str, Labels] = field(default_factory=dict)

    def digest(self) -> str:
        return digest({"services": self.services, "networks": self.networks,
                       "volumes": self.volumes})


def service_files(facts: ServiceFacts, root: str) -> dict[str, str]:
    """Digests of repository files a service mounts or builds from."""
    files = {b: path_digest(b, root) for b in facts.binds}
    if facts.build and facts.build_context:
        files[facts.build_context] = path_digest(facts.build_context, root)
    return {k: v for k, v in files.items() if v is not None}


def service_digest(facts: ServiceFacts, root: str) -> str:
    return digest({"config": facts.config, "files": service_files(facts, root)})


def stack_labels(
    facts: RenderFacts, host: HostState, project: Project, *, owner: str, resource: str,
    revision: str, root: str,
) -> StackLabels:
    out = StackLabels()
    base = {OWNER: owner, RESOURCE: resource}
    for name, svc in facts.services.items():
        wanted = service_digest(svc, root)
        running: list[dict[str, str]] = [c.labels for c in project.service_containers(name)]
        running += [s.labels for s in project.services if s.service == name]
        kept = running[0].get(REVISION) if running and all(
            labels.get(DIGEST) == wanted for labels in running) else None
        out.services[name] = {**base, REVISION: kept or revision, DIGEST: wanted}
    model_networks = facts.model.get("networks") or {}
    observed_networks = {n.name: n for n in project.networks}
    for name, wanted in facts.networks.items():
        definition = model_networks.get(name) or {}
        if definition.get("external"):
            continue
        seen = observed_networks.get(str(definition.get("name", "")))
        keep = seen is not None and seen.labels.get(DIGEST) == wanted \
            and seen.labels.get(OWNER) == owner
        rev = seen.labels.get(REVISION, revision) if seen is not None and keep else revision
        out.networks[name] = {**base, REVISION: rev, DIGEST: wanted}
    model_volumes = facts.model.get("volumes") or {}
    observed_volumes = {v.name: v for v in host.volumes}
    for name, wanted in facts.volumes.items():
        definition = model_volumes.get(name) or {}
        if definition.get("external"):
            continue
        volume = observed_volumes.get(str(definition.get("name", "")))
        if volume is not None and volume.labels.get(OWNER):
            out.volumes[name] = {k: v for k, v in volume.labels.items()
                                 if k.startswith("bosun.")}
        else:
            out.volumes[name] = {**base, REVISION: revision, DIGEST: wanted}
    return out


def inject(model: dict[str, Any], labels: StackLabels) -> dict[str, Any]:
    """A copy of ``model`` with bosun's labels merged in (the model's own labels kept)."""
    out = copy.deepcopy(model)
    for section, wanted in (("services", labels.services), ("networks", labels.networks),
                            ("volumes", labels.volumes)):
        entries = out.get(section) or {}
        for name, extra in wanted.items():
            body = entries.get(name)
            if body is None:
                body = {}
                entries[name] = body
            own = body.get("labels") or {}
            if isinstance(own, list):  # ["k=v", ...] form
                own = dict(item.split("=", 1) if "=" in item else (item, "") for item in own)
            # For a volume, only what it was created with: nothing of the model's own
            # labels may move, or Compose sees a changed volume.
            body["labels"] = {**own, **extra}
        if entries:
            out[section] = entries
    return out
