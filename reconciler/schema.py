"""JSON Schemas generated from the models: one per kind and one for any document.

``bosun schema export`` writes them into ``schemas/``; a test keeps the checked-in
files equal to what the models generate. Editors validate manifests with them
through the yaml-language-server modeline shown in the README.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from reconciler.model.kinds import KIND_MODELS, Document

SCHEMA_BASE = "https://bosun.dev/schemas/v1/"


def _require_kind(schema: dict[str, Any]) -> None:
    # The models default ``kind`` (it is their discriminator); a manifest must
    # still say it, and editors should ask for it.
    for node in [schema, *schema.get("$defs", {}).values()]:
        kind = node.get("properties", {}).get("kind")
        if isinstance(kind, dict) and "const" in kind:
            required = node.setdefault("required", [])
            if "kind" not in required:
                required.insert(1, "kind")


def _finish(schema: dict[str, Any], name: str, title: str) -> dict[str, Any]:
    _require_kind(schema)
    out: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_BASE + name,
        "title": title,
    }
    out.update(schema)
    return out


def schemas() -> dict[str, dict[str, Any]]:
    """File name -> schema, for every kind and for ``bosun.json`` (any document)."""
    out: dict[str, dict[str, Any]] = {}
    for kind, model in KIND_MODELS.items():
        schema = model.model_json_schema(by_alias=True, mode="validation")
        out[f"{kind.value.lower()}.json"] = _finish(schema, f"{kind.value.lower()}.json",
                                                    f"bosun/v1 {kind.value}")
    combined = TypeAdapter(Document).json_schema(by_alias=True, mode="validation")
    out["bosun.json"] = _finish(combined, "bosun.json", "Any bosun/v1 document")
    return out


def render_schema(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def export(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, schema in schemas().items():
        path = folder / name
        text = render_schema(schema)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
