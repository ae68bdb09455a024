"""Keeps bosun's own Caddy alive, for ``bosun serve``.

Part of the Caddy provider. A thread checks the embedded Caddy of a state
folder every few seconds and starts it again (with its autosaved config) when
it has died. Caddy runs detached, so the supervisor watches a process that is
not its child: by its pid file, its command line and its admin socket.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from providers.caddy.embedded import EmbeddedCaddy
from reconciler.errors import PermanentError, TemporaryError


class Supervisor:
    """Keeps the embedded Caddy of one state folder running (for ``bosun serve``).

    Interface::

        sup = Supervisor(state_dir, log=logger, interval=2.0)
        sup.start()      # adopt the running Caddy or start one; watch it in a thread
        sup.endpoint     # "unix:///.../admin.sock": the admin URL to talk to
        sup.pid          # pid of the Caddy being watched (None while it is down)
        sup.restarts     # how many times the watcher had to start it again
        sup.check()      # one watch step, for callers with their own loop
        sup.stop()       # stop watching; Caddy keeps running (stop_caddy=True stops it)

    It is also a context manager (``with Supervisor(state_dir) as sup:``). When
    Caddy dies the watcher starts it again with its autosaved config; restarts
    that fail back off up to ``max_backoff`` seconds. Caddy runs detached, so a
    restart of bosun itself never interrupts the routes it serves.
    """

    def __init__(self, state_dir: Path, log: logging.Logger | None = None,
                 interval: float = 2.0, max_backoff: float = 60.0,
                 binary: str | None = None) -> None:
        self.caddy = EmbeddedCaddy(state_dir, binary=binary)
        self.log = log or logging.getLogger("bosun.caddy")
        self.interval = interval
        self.max_backoff = max_backoff
        self.restarts = 0
        self.pid: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._backoff = 0.0
        self._next_try = 0.0

    @property
    def endpoint(self) -> str:
        return self.caddy.url

    def check(self) -> int | None:
        """Start Caddy if it is not running; the pid it runs under (None if it could
        not be started this time)."""
        pid = self.caddy.pid()
        if pid is not None and self.caddy.answering():
            self.pid, self._backoff = pid, 0.0
            return pid
        if time.monotonic() < self._next_try:
            return None
        was_watched = self.pid is not None
        try:
            pid = self.caddy.start(announce=self.log.info)
        except (TemporaryError, PermanentError) as exc:
            self._backoff = min(self.max_backoff, max(1.0, self._backoff * 2))
            self._next_try = time.monotonic() + self._backoff
            self.log.error("embedded Caddy could not be started (next try in %.0fs): %s",
                           self._backoff, exc)
            self.pid = None
            return None
        if was_watched:
            self.restarts += 1
            self.log.warning("embedded Caddy had stopped; started it again (pid %d)", pid)
        self.pid = pid
        return pid

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # the watcher must outlive any surprise
                self.log.exception("embedded Caddy watcher failed")

    def start(self) -> Supervisor:
        self.check()
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._watch, name="bosun-caddy-supervisor",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self, stop_caddy: bool = False) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5)
            self._thread = None
        if stop_caddy:
            self.caddy.stop()
            self.pid = None

    def __enter__(self) -> Supervisor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
