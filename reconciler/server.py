"""``bosun serve`` put together: the runtime, the HTTP app, uvicorn and signals.

The composition root (it is the one module that sees the runtime, the state
store and the webhook receivers). ``build_app`` makes the Starlette app:
``/healthz``, the webhook routes, and any ``extra_routes`` (the API and the
dashboard mount theirs here); handlers find the runtime and the store on
``request.app.state``. ``Service`` runs uvicorn on a thread, the runtime's
workers on theirs, and the main thread waits for SIGTERM or SIGINT: the first
stops cleanly (see ``Runtime.stop``), a second one exits at once (the store
still says what was being applied).
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Sequence
from types import FrameType

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from reconciler.runtime import Runtime
from reconciler.state import StateStore
from webhook import WebhookConfig
from webhook import routes as webhook_routes

log = logging.getLogger("bosun.serve")


async def _healthz(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    return JSONResponse({"status": "stopping" if runtime.stopping else "ok"},
                        status_code=503 if runtime.stopping else 200)


def build_app(runtime: Runtime, store: StateStore, webhook: WebhookConfig,
              extra_routes: Sequence[BaseRoute] = ()) -> Starlette:
    """The HTTP app of ``bosun serve``. ``app.state.runtime`` and ``app.state.store``
    are there for every handler; ``extra_routes`` come after the built-in ones."""
    routes: list[BaseRoute] = [Route("/healthz", _healthz, methods=["GET"], name="healthz")]
    routes += webhook_routes(webhook, runtime, store)
    routes += list(extra_routes)
    app = Starlette(routes=routes)
    app.state.runtime = runtime
    app.state.store = store
    return app


class Service:
    """The runtime plus the HTTP server, started and stopped together."""

    def __init__(self, runtime: Runtime, app: Starlette, host: str, port: int) -> None:
        self.runtime = runtime
        self.app = app
        config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                                access_log=False, lifespan="off", server_header=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="bosun-http", daemon=True)
        self._stop = threading.Event()
        self._signals = 0

    @property
    def address(self) -> tuple[str, int]:
        """Where the HTTP server listens (the real port when 0 was asked for)."""
        for server in self._server.servers:
            for sock in server.sockets:
                host, port = sock.getsockname()[:2]
                return str(host), int(port)
        return self._server.config.host, self._server.config.port

    def start(self, timeout: float = 15.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise OSError(f"cannot listen on {self._server.config.host}:"
                              f"{self._server.config.port}")
            if time.monotonic() > deadline:
                raise OSError("the HTTP server did not start in time")
            time.sleep(0.02)
        host, port = self.address
        log.info("listening on http://%s:%d (webhooks at /hooks/github, /hooks/gitlab, "
                 "/hooks/generic)", host, port)
        self.runtime.start()

    def stop(self) -> bool:
        clean = self.runtime.stop()
        self._server.should_exit = True
        self._thread.join(timeout=10)
        return clean

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signals += 1
        if self._signals > 1:
            log.warning("second signal: exiting now; the state store says what was applying")
            os._exit(130)
        log.warning("%s received: stopping cleanly (again to exit at once)",
                    signal.Signals(signum).name)
        self._stop.set()

    def run(self) -> bool:
        """Start, wait for SIGTERM/SIGINT, stop. True when stopped cleanly."""
        previous = {sig: signal.signal(sig, self._on_signal)
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            while not self._stop.wait(1.0):
                if not self._thread.is_alive():
                    log.error("the HTTP server stopped unexpectedly")
                    break
            clean = self.stop()
            log.info("bosun stopped%s", " cleanly" if clean else " with work still running")
            return clean
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
