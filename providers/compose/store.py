"""What the compose provider remembers between reconciles, behind a small interface.

apply -> **store** -> plan / health / rollback

Per stack: the last model that became healthy (for rollback), the last failed
revision (so that a failed revision is reported Degraded and not retried until
the stack changes), and the host it was deployed to (so that a stack removed
from the repository is still found). Models are stored with secret values
replaced by placeholders that name the secret; a rollback resolves them again.

``KVStackStore`` keeps them in the state store of ``bosun serve`` (the
context's ``kv``); ``FileStackStore`` keeps one JSON file per stack in the
state folder when there is none (``bosun plan``/``apply``).
"""

from __future__ import annotations

import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from pydantic import Field

from reconciler.model.common import Frozen
from reconciler.provider import KeyValueStore


class HealthyRecord(Frozen):
    stack: str
    host: str
    revision: str
    digest: str = Field(description="The desired resource digest that was applied.")
    project_dir: str
    profiles: tuple[str, ...] = ()
    model: dict[str, Any] = Field(
        description="The model given to Compose, secrets as placeholders.")
    secrets: tuple[str, ...] = Field(default=(), description="secret#key names it uses.")
    files: dict[str, dict[str, str]] = Field(
        default_factory=dict, description="Service -> mounted repository file -> digest."
    )
    images: dict[str, str] = Field(default_factory=dict, description="Service -> image id.")
    applied_at: datetime


class FailureRecord(Frozen):
    stack: str
    host: str
    revision: str
    digest: str
    reason: str
    rolled_back_to: str | None = None
    at: datetime


class StackEntry(Frozen):
    host: str | None = None
    healthy: HealthyRecord | None = None
    failure: FailureRecord | None = None


class StackStore(Protocol):
    def get(self, stack: str) -> StackEntry: ...

    def save_healthy(self, record: HealthyRecord) -> None: ...

    def save_failure(self, record: FailureRecord) -> None: ...

    def forget(self, stack: str) -> None: ...

    def hosts(self) -> set[str]: ...


class FileStackStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()

    def _path(self, stack: str) -> Path:
        return self.folder / f"{stack}.json"

    def get(self, stack: str) -> StackEntry:
        try:
            return StackEntry.model_validate_json(self._path(stack).read_bytes())
        except FileNotFoundError:
            return StackEntry()
        except (OSError, ValueError):
            # A corrupt record loses rollback for that stack, nothing else.
            return StackEntry()

    def _write(self, stack: str, entry: StackEntry) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(stack)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(entry.model_dump_json(), encoding="utf-8")
        tmp.chmod(0o600)
        tmp.replace(path)

    def save_healthy(self, record: HealthyRecord) -> None:
        with self._lock:
            self._write(record.stack, StackEntry(host=record.host, healthy=record, failure=None))

    def save_failure(self, record: FailureRecord) -> None:
        with self._lock:
            entry = self.get(record.stack)
            self._write(record.stack, entry.model_copy(
                update={"failure": record, "host": entry.host or record.host}))

    def forget(self, stack: str) -> None:
        with self._lock:
            self._path(stack).unlink(missing_ok=True)

    def hosts(self) -> set[str]:
        out: set[str] = set()
        if not self.folder.is_dir():
            return out
        for path in self.folder.glob("*.json"):
            entry = self.get(path.stem)
            if entry.host:
                out.add(entry.host)
        return out


KV_NAMESPACE = "compose.stacks"


class KVStackStore:
    """The same records in the runtime's key-value store, keyed ``Stack/<name>``."""

    def __init__(self, kv: KeyValueStore) -> None:
        self.kv = kv
        self._lock = threading.Lock()

    def get(self, stack: str) -> StackEntry:
        value = self.kv.kv_get(KV_NAMESPACE, f"Stack/{stack}")
        if value is None:
            return StackEntry()
        try:
            return StackEntry.model_validate(value)
        except ValueError:
            return StackEntry()

    def _put(self, stack: str, entry: StackEntry) -> None:
        self.kv.kv_put(KV_NAMESPACE, f"Stack/{stack}", entry.model_dump(mode="json"))

    def save_healthy(self, record: HealthyRecord) -> None:
        with self._lock:
            self._put(record.stack, StackEntry(host=record.host, healthy=record, failure=None))

    def save_failure(self, record: FailureRecord) -> None:
        with self._lock:
            entry = self.get(record.stack)
            self._put(record.stack, entry.model_copy(
                update={"failure": record, "host": entry.host or record.host}))

    def forget(self, stack: str) -> None:
        with self._lock:
            self.kv.kv_delete(KV_NAMESPACE, f"Stack/{stack}")

    def hosts(self) -> set[str]:
        out: set[str] = set()
        for value in self.kv.kv_items(KV_NAMESPACE).values():
            host = value.get("host") if isinstance(value, dict) else None
            if isinstance(host, str) and host:
                out.add(host)
        return out
