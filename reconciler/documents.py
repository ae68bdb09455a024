"""What the validate stage hands to the resolve stage, and how problems name things.

source -> load -> validate -> **(Validated)** -> resolve -> ...

Not a stage: both stages import it, so that they need not import each other.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from reconciler.model.common import ResourceRef
from reconciler.model.kinds import AnyDocument
from reconciler.model.source import PathKey, RawDocument


@dataclass(frozen=True)
class Validated:
    """A document that passed its kind's model, with the raw form it came from."""

    raw: RawDocument
    document: AnyDocument

    @functools.cached_property
    def ref(self) -> ResourceRef:
        return ResourceRef(kind=self.document.kind, name=self.document.metadata.name)


def doc_label(raw: RawDocument) -> str:
    """``Kind/name`` of a raw document, as far as it can be told."""
    data = raw.data if isinstance(raw.data, dict) else {}
    kind = data.get("kind")
    meta = data.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if isinstance(name, int | float) and not isinstance(name, bool):
        name = str(name)
    if not isinstance(name, str) or not name:
        name = "(unnamed)"
    return f"{kind}/{name}" if isinstance(kind, str) and kind else f"document/{name}"


def format_path(path: PathKey) -> str:
    """``spec.hosts[0]``: a dotted field path as problems print it."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out
