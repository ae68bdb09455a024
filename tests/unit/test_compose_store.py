"""The stack store behind rollback: the same records in files and in a key-value store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from providers.compose.store import (
    FailureRecord,
    FileStackStore,
    HealthyRecord,
    KVStackStore,
    StackStore,
)


class DictKV:
    """A key-value store in a dict, with the state store's interface."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str], Any] = {}

    def kv_get(self, namespace: str, key: str) -> Any | None:
        return self.data.get((namespace, key))

    def kv_put(self, namespace: str, key: str, value: Any) -> None:
        self.data[(namespace, key)] = value

    def kv_delete(self, namespace: str, key: str) -> None:
        self.data.pop((namespace, key), None)

    def kv_items(self, namespace: str) -> dict[str, Any]:
        return {k: v for (n, k), v in self.data.items() if n == namespace}


@pytest.fixture(params=["file", "kv"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> StackStore:
    if request.param == "file":
        return FileStackStore(tmp_path / "stacks")
    return KVStackStore(DictKV())


def test_records_round_trip(store: StackStore) -> None:
    assert store.get("blog").healthy is None
    now = datetime.now(UTC)
    store.save_healthy(HealthyRecord(
        stack="blog", host="local", revision="r1", digest="sha256:a", project_dir="/x",
        model={"services": {"web": {"environment": {"PW": "(sensitive:db#pw)"}}}},
        secrets=("db#pw",), applied_at=now))
    store.save_failure(FailureRecord(stack="blog", host="local", revision="r2",
                                     digest="sha256:b", reason="web: healthcheck failing",
                                     rolled_back_to="r1", at=now))
    entry = store.get("blog")
    assert entry.healthy is not None and entry.healthy.revision == "r1"
    assert entry.failure is not None and entry.failure.rolled_back_to == "r1"
    assert store.hosts() == {"local"}
    store.save_healthy(entry.healthy.model_copy(update={"revision": "r3"}))
    assert store.get("blog").failure is None
    store.forget("blog")
    assert store.get("blog").healthy is None and store.hosts() == set()
