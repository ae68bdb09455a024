"""What the compose provider remembers between reconciles, behind a small interface.

apply -> **store** -> plan / health / rollback

Per stack: the last model that became healthy (for rollback), the last failed
revision (so that a failed revision is reported Degraded and not retried until
the stack changes), the host it was deployed to (so that a stack removed
from the repository is still found) and the hosts it moved away from while
its old deployment may still run there. Models are stored with secret values
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
    left_on: tuple[str, ...] = Field(
        default=(), description="Hosts the stack moved away from whose old deployment may "
        "still run (removed once the new one is healthy).")


class StackStore(Protocol):
    def get(self, stack: str) -> StackEntry: ...

    def save_healthy(self, record: HealthyRecord) -> None: ...

    def save_failure(self, record: FailureRecord) -> None: ...

    def moved_off(self, stack: str, host: str) -> None: ...

    def forget(self, stack: str) -> None: ...

    def hosts(self) -> set[str]: ...

    def deployments(self) -> dict[str, set[str]]: ...

    def forget_host(self, host: str) -> list[str]: ...


class _Records:
    """What both stores do; they differ in where an entry is kept (``_load``, ``_put``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def _load(self, stack: str) -> StackEntry | None:
        raise NotImplementedError

    def _put(self, stack: str, entry: StackEntry) -> None:
        raise NotImplementedError

    def _drop(self, stack: str) -> None:
        raise NotImplementedError

    def _entries(self) -> list[tuple[str, StackEntry]]:
        raise NotImplementedError

    def get(self, stack: str) -> StackEntry:
        return self._load(stack) or StackEntry()

    def save_healthy(self, record: HealthyRecord) -> None:
        with self._lock:
            entry = self.get(record.stack)
            left = set(entry.left_on) | ({entry.host} if entry.host else set())
            self._put(record.stack, StackEntry(host=record.host, healthy=record, failure=None,
                                               left_on=tuple(sorted(left - {record.host}))))

    def save_failure(self, record: FailureRecord) -> None:
        with self._lock:
            entry = self.get(record.stack)
            self._put(record.stack, entry.model_copy(
                update={"failure": record, "host": entry.host or record.host}))

    def moved_off(self, stack: str, host: str) -> None:
        """The old deployment on ``host`` is gone."""
        with self._lock:
            entry = self.get(stack)
            if host in entry.left_on:
                self._put(stack, entry.model_copy(
                    update={"left_on": tuple(h for h in entry.left_on if h != host)}))

    def forget(self, stack: str) -> None:
        with self._lock:
            self._drop(stack)

    def hosts(self) -> set[str]:
        """Every host a stack was deployed to and may still run on."""
        return set(self.deployments())

    def forget_host(self, host: str) -> list[str]:
        """Forget every deployment on ``host`` (they keep running); the stacks concerned."""
        touched: list[str] = []
        with self._lock:
            for stack, entry in self._entries():
                left = tuple(h for h in entry.left_on if h != host)
                if entry.host == host and not left:
                    self._drop(stack)
                elif entry.host == host:
                    self._put(stack, StackEntry(left_on=left))
                elif left != entry.left_on:
                    self._put(stack, entry.model_copy(update={"left_on": left}))
                else:
                    continue
                touched.append(stack)
        return sorted(touched)

    def deployments(self) -> dict[str, set[str]]:
        """Host -> the stacks deployed there that may still run on it."""
        out: dict[str, set[str]] = {}
        for stack, entry in self._entries():
            for host in (entry.host, *entry.left_on):
                if host:
                    out.setdefault(host, set()).add(stack)
        return out


class FileStackStore(_Records):
    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder

    def _path(self, stack: str) -> Path:
        return self.folder / f"{stack}.json"

    def _load(self, stack: str) -> StackEntry | None:
        try:
            return StackEntry.model_validate_json(self._path(stack).read_bytes())
        except (OSError, ValueError):
            # Missing, or corrupt: that loses rollback for that stack, nothing else.
            return None

    def _put(self, stack: str, entry: StackEntry) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(stack)
        tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(entry.model_dump_json(), encoding="utf-8")
        tmp.chmod(0o600)
        tmp.replace(path)

    def _drop(self, stack: str) -> None:
        self._path(stack).unlink(missing_ok=True)

    def _entries(self) -> list[tuple[str, StackEntry]]:
        if not self.folder.is_dir():
            return []
        return [(p.stem, e) for p in self.folder.glob("*.json")
                if (e := self._load(p.stem)) is not None]


KV_NAMESPACE = "compose.stacks"


class KVStackStore(_Records):
    """The same records in the runtime's key-value store, keyed ``Stack/<name>``."""

    def __init__(self, kv: KeyValueStore) -> None:
        super().__init__()
        self.kv = kv

    def _load(self, stack: str) -> StackEntry | None:
        return _entry(self.kv.kv_get(KV_NAMESPACE, f"Stack/{stack}"))

    def _put(self, stack: str, entry: StackEntry) -> None:
        self.kv.kv_put(KV_NAMESPACE, f"Stack/{stack}", entry.model_dump(mode="json"))

    def _drop(self, stack: str) -> None:
        self.kv.kv_delete(KV_NAMESPACE, f"Stack/{stack}")

    def _entries(self) -> list[tuple[str, StackEntry]]:
        found = ((k.removeprefix("Stack/"), _entry(v))
                 for k, v in self.kv.kv_items(KV_NAMESPACE).items())
        return [(name, e) for name, e in found if e is not None]


def _entry(value: object) -> StackEntry | None:
    if value is None:
        return None
    try:
        return StackEntry.model_validate(value)
    except ValueError:
        return None
