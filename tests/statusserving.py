"""``bosun serve`` in-process with the status side wired in: recorder, branch, API, dashboard."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from reconciler.api import ApiConfig, mount
from reconciler.model.sensitive import Sensitive
from reconciler.pipeline import Reconciler
from reconciler.provider import Provider
from reconciler.runtime import ReconcileCycle, Runtime, RuntimeOptions
from reconciler.server import Service, build_app
from reconciler.source import GitSource, GitSourceSpec, Source
from reconciler.state import StateStore
from reconciler.status import StatusService, attach
from webhook import WebhookConfig


@dataclass
class Served:
    service: Service
    status: StatusService
    store: StateStore
    url: str

    @property
    def runtime(self) -> Runtime:
        return self.service.runtime

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until no reconcile is queued or running and the branch is written."""
        deadline = time.monotonic() + timeout
        while not self.runtime.queue.idle():
            if time.monotonic() > deadline:
                raise AssertionError("the runtime did not become idle")
            time.sleep(0.05)
        if self.status.writer is not None:
            assert self.status.writer.flush(max(1.0, deadline - time.monotonic()))


@contextmanager
def serve_status(state_dir: Path, source: Source | str, providers: Sequence[str] = ("memory",),
                 token: str | None = "api-token", agent: str = "agent-a",
                 environ: dict[str, str] | None = None, interval: float = 3600.0,
                 provider_objects: Sequence[Provider] = ()) -> Iterator[Served]:
    """``provider_objects``, when given, replace the providers found by name."""
    store = StateStore(state_dir)
    if isinstance(source, str):
        source = GitSource(GitSourceSpec(url=source, timeout=10), state_dir / "source")
    reconciler = Reconciler(state_dir=state_dir, provider_names=list(providers), kv=store,
                            environ=environ)
    if provider_objects:
        reconciler.providers = list(provider_objects)
    cycle = ReconcileCycle(source, reconciler, store)
    runtime = Runtime(cycle, store, RuntimeOptions(interval=interval, jitter=0,
                                                   control_poll=0.5, debounce=0.2,
                                                   ignore=(state_dir,)))
    status = attach(cycle, store, agent=agent)
    app = build_app(runtime, store, WebhookConfig(Sensitive("s3cret")))
    mount(app, status.feed, ApiConfig(token=Sensitive(token) if token else None))
    service = Service(runtime, app, "127.0.0.1", 0)
    status.start()
    service.start()
    host, port = service.address
    try:
        yield Served(service, status, store, f"http://{host}:{port}")
    finally:
        service.stop()
        status.stop()
        store.close()
