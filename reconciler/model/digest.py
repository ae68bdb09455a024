"""Canonical JSON and digests: the same data always hashes the same.

Part of the model layer. Key order, file order and formatting never reach a
digest; only the data does.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel


def _plain(value: Any) -> Any:
    # json.dumps calls this for every object it cannot encode, at any depth:
    # a model nested in a dict must become sorted JSON too, never its repr.
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def canonical_json(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    )


def digest(value: Any) -> str:
    """``sha256:<hex>`` of the canonical JSON of ``value``."""
    return "sha256:" + hashlib.sha256(canonical_json(value).encode()).hexdigest()


def short(digest_text: str, length: int = 12) -> str:
    return digest_text.removeprefix("sha256:")[:length]
