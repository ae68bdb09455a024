"""The stack store behind rollback: the same records in files and in a key-value store."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from providers.compose.observed import ComposeObservation, HostState
from providers.compose.planner import undeclared_hosts
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


def healthy(stack: str, host: str) -> HealthyRecord:
    return HealthyRecord(stack=stack, host=host, revision="r1", digest="sha256:a",
                         project_dir="/x", model={}, applied_at=datetime.now(UTC))


def test_deployments_name_the_stacks_of_each_host(store: StackStore) -> None:
    store.save_healthy(healthy("blog", "a"))
    store.save_healthy(healthy("shop", "a"))
    store.save_healthy(healthy("blog", "b"))  # moved: may still run on a
    assert store.deployments() == {"a": {"blog", "shop"}, "b": {"blog"}}
    assert store.hosts() == {"a", "b"}


def test_a_host_without_manifest_is_warned_about_on_every_plan(store: StackStore) -> None:
    store.save_healthy(healthy("blog", "gone"))
    store.save_healthy(healthy("api", "gone"))
    store.save_healthy(healthy("web", "local"))
    store.save_healthy(healthy("db", "down"))
    observed = ComposeObservation(
        hosts={"local": HostState(name="local", engine="docker", url="unix:///x")},
        host_errors={"down": "cannot connect"})
    warnings = undeclared_hosts(observed, store)
    assert [(str(w.ref), w.message) for w in warnings] == [(
        "Host/gone",
        "no Host manifest declares host gone any more, so bosun cannot read it: 2 stack(s) "
        "it deployed there are left as they are (api, blog); declare the Host again to have "
        "them removed, or 'bosun forget Host/gone' to leave them")]


def test_forgetting_a_host_keeps_what_else_is_known(store: StackStore) -> None:
    store.save_healthy(healthy("blog", "gone"))
    store.save_healthy(healthy("moved", "gone"))
    store.save_healthy(healthy("moved", "local"))  # left_on: gone
    store.save_healthy(healthy("away", "local"))
    store.save_healthy(healthy("away", "gone"))  # on gone, left_on: local
    store.save_healthy(healthy("web", "local"))
    assert store.forget_host("gone") == ["away", "blog", "moved"]
    assert store.deployments() == {"local": {"away", "moved", "web"}}
    assert store.get("moved").healthy is not None, "its deployment on local is still known"
    assert store.forget_host("gone") == []
