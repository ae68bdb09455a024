"""What a policy rule sees: a resource as JSON, its compose model in long syntax.

Part of the policy stage. A Stack's compose model is normalised the way
``docker compose config`` prints it (ports and volumes in long syntax, labels
and environment as mappings), so one rule covers both the model as written in
the repository and the model the compose provider renders. Facts that JSON
Schema cannot compute are added under ``x-bosun`` keys (compose's own
extension prefix):

- service ``x-bosun.image``: ``{registry, repository, tag, digest, prefixes}``
  parsed from ``image`` the way Docker normalises references;
- port ``x-bosun.published``: ``{from, to}`` host port numbers;
- Route ``x-bosun.hosts``: ``[{host, suffixes}]``, every domain a host is under.
"""

from __future__ import annotations

import re
from typing import Any

from reconciler.model.common import Kind
from reconciler.model.desired import DesiredResource

EXT = "x-bosun"
DOCKER_HUB = "docker.io"

# [HOST_IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/PROTOCOL]
_PORT = re.compile(
    r"^(?:(?P<ip>\[[^\]]*\]|[^:\[\]]*):)??(?:(?P<published>[^:]*):)?"
    r"(?P<target>[^:/]+)(?:/(?P<protocol>\w+))?$"
)
_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


def parse_image(ref: str) -> dict[str, Any]:
    """Registry, repository, tag and digest of an image reference, as Docker reads it.

    ``nginx`` is ``docker.io/library/nginx`` with no tag; ``localhost:5000/app``
    has registry ``localhost:5000``; the first component is a registry when it
    holds a '.' or ':' or is ``localhost``.
    """
    name, _, digest = ref.partition("@")
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, rest
    else:
        registry, path = DOCKER_HUB, name
        if "/" not in path:
            path = f"library/{path}"
    registry = registry.lower()
    repository, tag = path, None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        repository, _, tag = path.rpartition(":")
    parts = [registry, *repository.split("/")]
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    return {
        "registry": registry,
        "repository": repository,
        "tag": tag,
        "digest": digest or None,
        "prefixes": prefixes,
    }


def _published(text: Any) -> dict[str, int] | None:
    if isinstance(text, int):
        return {"from": text, "to": text}
    if not isinstance(text, str):
        return None
    found = _RANGE.match(text.strip())
    if not found:
        return None  # empty (an ephemeral port) or not interpolated yet
    start = int(found.group(1))
    return {"from": start, "to": int(found.group(2) or start)}


def _port(entry: Any) -> Any:
    if isinstance(entry, int):
        long: dict[str, Any] = {"target": entry, "protocol": "tcp", "mode": "ingress"}
    elif isinstance(entry, str):
        found = _PORT.match(entry.strip())
        if not found:
            return entry
        long = {"target": found.group("target"), "protocol": found.group("protocol") or "tcp",
                "mode": "ingress"}
        ip = found.group("ip")
        if ip:
            long["host_ip"] = ip.strip("[]")
        if found.group("published"):
            long["published"] = found.group("published")
        target = _RANGE.match(str(long["target"]))
        if target and not target.group(2):
            long["target"] = int(target.group(1))
    elif isinstance(entry, dict):
        long = dict(entry)
    else:
        return entry
    published = _published(long.get("published"))
    if published is not None:
        long[EXT] = {"published": published}
    return long


def _is_bind_source(source: str) -> bool:
    return source.startswith(("/", ".", "~", "$")) or (len(source) > 1 and source[1] == ":")


def _volume(entry: Any) -> Any:
    if not isinstance(entry, str):
        return entry
    parts = entry.split(":")
    if len(parts) == 1:
        return {"type": "volume", "target": parts[0]}
    source, target = parts[0], parts[1]
    options = parts[2].split(",") if len(parts) > 2 else []
    long: dict[str, Any] = {
        "type": "bind" if _is_bind_source(source) else "volume",
        "source": source,
        "target": target,
    }
    if "ro" in options:
        long["read_only"] = True
    return long


def _mapping(value: Any) -> Any:
    """``["A=b", "C"]`` -> ``{"A": "b", "C": None}``; mappings stay."""
    if not isinstance(value, list):
        return value
    out: dict[str, Any] = {}
    for item in value:
        if isinstance(item, str):
            key, sep, val = item.partition("=")
            out[key] = val if sep else None
    return out


def normalize_service(service: dict[str, Any]) -> dict[str, Any]:
    out = dict(service)
    if isinstance(out.get("ports"), list):
        out["ports"] = [_port(p) for p in out["ports"]]
    if isinstance(out.get("volumes"), list):
        out["volumes"] = [_volume(v) for v in out["volumes"]]
    for key in ("labels", "environment"):
        if key in out:
            out[key] = _mapping(out[key])
    image = out.get("image")
    facts: dict[str, Any] = {}
    if isinstance(image, str) and image:
        facts["image"] = parse_image(image)
    out[EXT] = facts
    return out


def normalize_compose(model: dict[str, Any]) -> dict[str, Any]:
    """The compose model with every service in long syntax plus derived facts."""
    out = dict(model)
    services = model.get("services")
    if isinstance(services, dict):
        out["services"] = {
            name: normalize_service(svc) if isinstance(svc, dict) else svc
            for name, svc in services.items()
        }
    return out


def domain_suffixes(host: str) -> list[str]:
    """``a.example.com`` -> ``[a.example.com, example.com, com]``."""
    labels = host.lower().rstrip(".").split(".")
    return [".".join(labels[i:]) for i in range(len(labels))]


def subject(res: DesiredResource, compose: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON document a policy rule sees for a resource.

    A Stack carries ``compose``: ``compose`` when given (the rendered model),
    else the model read from the repository; a Route carries ``x-bosun.hosts``.
    """
    body: dict[str, Any] = res.document.model_dump(mode="json", by_alias=True)
    if res.ref.kind is Kind.STACK:
        model = compose if compose is not None else (res.compose.model if res.compose else {})
        body["compose"] = normalize_compose(model)
    elif res.ref.kind is Kind.ROUTE:
        hosts = body.get("spec", {}).get("hosts", [])
        body[EXT] = {"hosts": [{"host": h, "suffixes": domain_suffixes(h)} for h in hosts]}
    return body


def select(node: Any, path: str) -> list[tuple[tuple[str | int, ...], Any]]:
    """Every node the dotted ``path`` selects; ``*`` is every key or element."""
    found: list[tuple[tuple[str | int, ...], Any]] = [((), node)]
    for part in path.split("."):
        step: list[tuple[tuple[str | int, ...], Any]] = []
        for where, value in found:
            if part == "*":
                if isinstance(value, dict):
                    step.extend(((*where, k), v) for k, v in value.items())
                elif isinstance(value, list):
                    step.extend(((*where, i), v) for i, v in enumerate(value))
            elif isinstance(value, dict) and part in value:
                step.append(((*where, part), value[part]))
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                step.append(((*where, int(part)), value[int(part)]))
        found = step
    return found


def source_path(kind: Kind, where: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """The manifest or compose path a derived node stands for."""
    if kind is Kind.ROUTE and where[:2] == (EXT, "hosts"):
        return ("spec", "hosts", *where[2:3])
    return where


def focus(schema: Any, node: Any) -> tuple[str | int, ...]:
    """The part of ``node`` a matching deny schema is about, to point at its line.

    Follows ``required`` keys the node has (the first one) and ``contains``
    (the first element that matches), as deep as the schema says.
    """
    from jsonschema import Draft202012Validator

    out: list[str | int] = []
    for _ in range(16):
        if not isinstance(schema, dict):
            break
        if isinstance(node, dict):
            present = [k for k in schema.get("required", []) if k in node]
            if not present:
                break
            key = present[0]
            out.append(key)
            node = node[key]
            schema = (schema.get("properties") or {}).get(key, {})
        elif isinstance(node, list) and isinstance(schema.get("contains"), dict):
            inner = schema["contains"]
            validator = Draft202012Validator(inner)
            index = next((i for i, v in enumerate(node) if validator.is_valid(v)), None)
            if index is None:
                break
            out.append(index)
            node = node[index]
            schema = inner
        else:
            break
    return tuple(out)


def format_path(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + part
    return out
