"""Names of what bosun puts into Caddy's config: one ``@id`` per object.

Part of the Caddy provider; no I/O. Every object bosun emits carries
``@id = bosun-<owner>-<local id>``. The local ids are::

    gw.<gateway>.https                              the gateway's HTTPS server
    gw.<gateway>.http                               the gateway's plain-HTTP server
    gw.<gateway>.route.<route>.<https|http>.<exact|wild>   a route's entry in a server
    gw.<gateway>.route.<route>.tls                  a route's TLS automation policy

Resource names are DNS labels (no dots), so a local id parses back without
ambiguity. Anything whose ``@id`` does not parse under this owner's prefix is
someone else's and is left exactly as it is.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from enum import StrEnum

from reconciler.model.common import Kind, ResourceRef

_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
_SERVER = re.compile(rf"^gw\.({_LABEL})\.(https|http)$")
_ENTRY = re.compile(rf"^gw\.({_LABEL})\.route\.({_LABEL})\.(https|http)\.(exact|wild)$")
_POLICY = re.compile(rf"^gw\.({_LABEL})\.route\.({_LABEL})\.tls$")


class Slot(StrEnum):
    """Where an object lives in Caddy's config."""

    SERVER = "server"   # apps.http.servers[<full id>] (without its routes)
    ENTRY = "entry"     # apps.http.servers[<server id>].routes[]
    POLICY = "policy"   # apps.tls.automation.policies[]


class Listener(StrEnum):
    HTTPS = "https"
    HTTP = "http"


class HostGroup(StrEnum):
    EXACT = "exact"
    WILD = "wild"


@dataclass(frozen=True)
class ObjectId:
    gateway: str
    slot: Slot
    route: str | None = None
    listener: Listener | None = None
    group: HostGroup | None = None

    @functools.cached_property
    def local(self) -> str:
        if self.slot is Slot.SERVER:
            assert self.listener is not None
            return server_local(self.gateway, self.listener)
        if self.slot is Slot.POLICY:
            assert self.route is not None
            return policy_local(self.gateway, self.route)
        assert self.route is not None and self.listener is not None and self.group is not None
        return entry_local(self.gateway, self.route, self.listener, self.group)

    @functools.cached_property
    def server(self) -> ObjectId:
        """The server an entry belongs to."""
        assert self.listener is not None
        return server_id(self.gateway, self.listener)

    @property
    def ref(self) -> ResourceRef:
        """The resource that owns this object."""
        if self.route is None:
            return ResourceRef(kind=Kind.GATEWAY, name=self.gateway)
        return ResourceRef(kind=Kind.ROUTE, name=self.route)


def server_local(gateway: str, listener: Listener) -> str:
    return f"gw.{gateway}.{listener.value}"


def entry_local(gateway: str, route: str, listener: Listener, group: HostGroup) -> str:
    return f"gw.{gateway}.route.{route}.{listener.value}.{group.value}"


def policy_local(gateway: str, route: str) -> str:
    return f"gw.{gateway}.route.{route}.tls"


def server_id(gateway: str, listener: Listener) -> ObjectId:
    return ObjectId(gateway=gateway, slot=Slot.SERVER, listener=listener)


def entry_id(gateway: str, route: str, listener: Listener, group: HostGroup) -> ObjectId:
    return ObjectId(gateway=gateway, slot=Slot.ENTRY, route=route, listener=listener,
                    group=group)


def policy_id(gateway: str, route: str) -> ObjectId:
    return ObjectId(gateway=gateway, slot=Slot.POLICY, route=route)


def prefix(owner: str) -> str:
    return f"bosun-{owner}-"


def full(owner: str, oid: ObjectId) -> str:
    return prefix(owner) + oid.local


@functools.lru_cache(maxsize=65536)
def parse_local(local: str) -> ObjectId | None:
    if m := _SERVER.match(local):
        return server_id(m[1], Listener(m[2]))
    if m := _ENTRY.match(local):
        return entry_id(m[1], m[2], Listener(m[3]), HostGroup(m[4]))
    if m := _POLICY.match(local):
        return policy_id(m[1], m[2])
    return None


def parse(owner: str, text: object) -> ObjectId | None:
    """The object id behind a full ``@id`` (or server key) of ``owner``, else None."""
    if not isinstance(text, str):
        return None
    head = prefix(owner)
    if not text.startswith(head):
        return None
    return parse_local(text[len(head):])
