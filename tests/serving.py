"""Run ``bosun serve``'s service in-process (real runtime, store, uvicorn) for tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from reconciler.model.sensitive import Sensitive
from reconciler.pipeline import Reconciler
from reconciler.runtime import ReconcileCycle, Runtime, RuntimeOptions
from reconciler.server import Service, build_app
from reconciler.source import GitSource, GitSourceSpec, Source
from reconciler.state import StateStore
from webhook import WebhookConfig

T = TypeVar("T")


def wait_for(probe: Callable[[], T], timeout: float = 20.0, interval: float = 0.05,
             what: str = "condition") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@contextmanager
def running_service(state_dir: Path, source: Source | str, providers: Sequence[str] = ("memory",),
                    interval: float = 3600.0, secret: str | None = "s3cret",
                    watch: Path | None = None,
                    setup: Callable[[Runtime], object] | None = None) -> Iterator[Service]:
    """``setup`` runs before the service starts (e.g. to install extensions)."""
    store = StateStore(state_dir)
    if isinstance(source, str):
        source = GitSource(GitSourceSpec(url=source, timeout=10), state_dir / "source")
    reconciler = Reconciler(state_dir=state_dir, provider_names=list(providers), kv=store)
    runtime = Runtime(ReconcileCycle(source, reconciler, store), store,
                      RuntimeOptions(interval=interval, jitter=0, watch=watch,
                                     ignore=(state_dir,), control_poll=0.5, debounce=0.2))
    app = build_app(runtime, store, WebhookConfig(Sensitive(secret) if secret else None))
    service = Service(runtime, app, "127.0.0.1", 0)
    if setup is not None:
        setup(runtime)
    service.start()
    try:
        yield service
    finally:
        service.stop()
        store.close()


def base_url(service: Service) -> str:
    host, port = service.address
    return f"http://{host}:{port}"
