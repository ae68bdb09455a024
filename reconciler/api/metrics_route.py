"""``GET /metrics``: Prometheus text format.

Part of the API. The counters and histograms of ``reconciler.metrics`` live
in the default registry; ``bosun_resource_info`` is read from the state store
at scrape time (one series per resource, value 1, its sync and health as
labels), so it always says what the store says, across restarts too.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from reconciler.logs import scrub
from reconciler.state import StateStore


class ResourceInfo:
    """A collector of ``bosun_resource_info{kind,name,sync,health}``."""

    def __init__(self, store: StateStore) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "bosun_resource_info",
            "One series per resource bosun manages; sync and health as labels.",
            labels=["kind", "name", "sync", "health"],
        )
        for status in self.store.statuses(history=0):
            family.add_metric([status.ref.kind.value, status.ref.name, status.sync.value,
                               status.health.state.value], 1.0)
        yield family


def metrics_endpoint(request: Request) -> Response:
    registry: CollectorRegistry | None = getattr(request.app.state, "metrics_registry", None)
    if registry is None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(ResourceInfo(request.app.state.store))
        request.app.state.metrics_registry = registry
    text = generate_latest(REGISTRY) + generate_latest(registry)
    return Response(scrub(text.decode()), media_type=CONTENT_TYPE_LATEST)
