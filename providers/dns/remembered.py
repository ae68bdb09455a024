"""Zones bosun holds record sets in, remembered beyond the repository.

A DNSZone removed from the repository takes its server and key with it: bosun
cannot read that zone any more, let alone clean it up. So that the removal is
not silent, the provider notes, each time it reads a zone, whether bosun owns
record sets there (ownership markers of this owner in a shared zone, any
record set in an authoritative one). A zone remembered with owned sets that
the repository no longer declares is a plan warning until the zone is declared
again and emptied, or ``bosun forget DNSZone/<name>`` drops the note.

Kept in the state store's key-value table (namespace ``dns.zones``, key
``DNSZone/<name>``) or, without one, as JSON files under ``<state>/dns/zones``.
Only names, addresses and counts: never a key or a record value.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from urllib.parse import urlsplit

from reconciler.model.common import Frozen
from reconciler.model.kinds import DNSProvider, DNSZone
from reconciler.provider import KeyValueStore

NAMESPACE = "dns.zones"


class ZoneNote(Frozen):
    origin: str
    server: str
    owned: int


def where(zone: DNSZone) -> str:
    """The zone's server as an operator recognises it, without credentials."""
    spec = zone.spec
    if spec.provider is DNSProvider.POWERDNS and spec.api:
        parts = urlsplit(spec.api)
        host = parts.hostname or ""
        return f"PowerDNS API {parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}"
    return f"server {spec.server}"


class RememberedZones:
    """Zone resource name -> what bosun last saw it own there."""

    _lock = threading.Lock()

    def __init__(self, state_dir: Path, kv: KeyValueStore | None) -> None:
        self.kv = kv
        self.folder = state_dir / "dns" / "zones"

    def all(self) -> dict[str, ZoneNote]:
        if self.kv is not None:
            found = {k.removeprefix("DNSZone/"): _note(v)
                     for k, v in self.kv.kv_items(NAMESPACE).items()}
        elif self.folder.is_dir():
            found = {p.stem: self.get(p.stem) for p in self.folder.glob("*.json")}
        else:
            found = {}
        return {name: n for name, n in found.items() if n is not None}

    def get(self, name: str) -> ZoneNote | None:
        if self.kv is not None:
            return _note(self.kv.kv_get(NAMESPACE, f"DNSZone/{name}"))
        try:
            return _note((self.folder / f"{name}.json").read_bytes())
        except OSError:
            return None

    def note(self, name: str, note: ZoneNote | None) -> None:
        """Record ``note`` for zone ``name`` (None: bosun owns nothing there)."""
        with self._lock:
            if self.get(name) == note:
                return
            if self.kv is not None:
                if note is None:
                    self.kv.kv_delete(NAMESPACE, f"DNSZone/{name}")
                else:
                    self.kv.kv_put(NAMESPACE, f"DNSZone/{name}", note.model_dump(mode="json"))
                return
            path = self.folder / f"{name}.json"
            if note is None:
                path.unlink(missing_ok=True)
                return
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(note.model_dump_json(), encoding="utf-8")
            tmp.replace(path)

    def forget(self, name: str) -> ZoneNote | None:
        """Drop the note of zone ``name``; the note it had, if any."""
        known = self.get(name)
        self.note(name, None)
        return known


def _note(value: object) -> ZoneNote | None:
    """A stored note, or None when there is none or it is damaged (that loses a warning,
    nothing else)."""
    if value is None:
        return None
    try:
        if isinstance(value, bytes):
            return ZoneNote.model_validate_json(value)
        return ZoneNote.model_validate(value)
    except ValueError:
        return None
