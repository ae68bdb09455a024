"""Keeps bosun's own Caddy alive, for ``bosun serve``.

Part of the Caddy provider. A thread checks the embedded Caddy of a state
folder every few seconds and starts it again (with its autosaved config) when
it has died. Caddy runs detached, so the supervisor watches a process that is
not its child: by its pid file, its command line and its admin socket. While
it watches, it holds a lease (an flock on ``<state>/caddy/supervisor.lock``
with its pid inside), so that ``bosun gateway`` can tell who keeps Caddy up;
the kernel drops the lease with the process, so a killed serve leaves none.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from providers.caddy.embedded import EmbeddedCaddy
from reconciler.errors import PermanentError, TemporaryError

Notify = Callable[[str, str], None]
"""``notify(level, message)``, level ``warning`` or ``error``: for the state store's events."""


def _no_notify(level: str, message: str) -> None:
    return None


class Lease:
    """Who supervises the embedded Caddy of one state folder (an flock with a pid)."""

    def __init__(self, caddy: EmbeddedCaddy) -> None:
        self.path = caddy.paths.root / "supervisor.lock"
        self._fd: int | None = None

    def acquire(self) -> int | None:
        """Take the lease; None when taken, else the pid of the process holding it."""
        if self._fd is not None:
            return None
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return self.holder() or 0
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return None

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.ftruncate(fd, 0)
            os.close(fd)  # drops the flock

    def holder(self) -> int | None:
        """The pid of the process that supervises now (0 if it cannot be read), or None."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                # Held: the holder writes its pid right after locking.
                for _ in range(20):
                    text = os.pread(fd, 32, 0).decode(errors="replace").strip()
                    if text.isdigit():
                        return int(text)
                    time.sleep(0.01)
                return 0
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        finally:
            os.close(fd)


def supervised_by(state_dir: Path) -> int | None:
    """The pid of the bosun that supervises the embedded Caddy of ``state_dir``, or None."""
    return Lease(EmbeddedCaddy(state_dir)).holder()


class Supervisor:
    """Keeps the embedded Caddy of one state folder running (for ``bosun serve``).

    Interface::

        sup = Supervisor(state_dir, log=logger, interval=2.0, notify=callback)
        sup.start()      # adopt the running Caddy or start one; watch it in a thread
        sup.endpoint     # "unix:///.../admin.sock": the admin URL to talk to
        sup.pid          # pid of the Caddy being watched (None while it is down)
        sup.restarts     # how many times the watcher had to start it again
        sup.check()      # one watch step, for callers with their own loop
        sup.stop()       # stop watching; Caddy keeps running (stop_caddy=True stops it)
        supervised_by(state_dir)  # pid of the process supervising it now, or None

    It is also a context manager (``with Supervisor(state_dir) as sup:``). When
    Caddy dies the watcher starts it again with its autosaved config; restarts
    that fail back off up to ``max_backoff`` seconds. Each restart, and the
    first failure to restart, is logged and passed to ``notify``. Caddy runs
    detached, so a restart of bosun itself never interrupts the routes it serves.
    """

    def __init__(self, state_dir: Path, log: logging.Logger | None = None,
                 interval: float = 2.0, max_backoff: float = 60.0,
                 binary: str | None = None, notify: Notify | None = None) -> None:
        self.caddy = EmbeddedCaddy(state_dir, binary=binary)
        self.log = log or logging.getLogger("bosun.caddy")
        self.interval = interval
        self.max_backoff = max_backoff
        self.notify = notify or _no_notify
        self.restarts = 0
        self.pid: int | None = None
        self.lease = Lease(self.caddy)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._backoff = 0.0
        self._next_try = 0.0
        self._failing = False
        self._seen = False  # it has run under this supervisor: a start now is a restart

    @property
    def endpoint(self) -> str:
        return self.caddy.url

    def check(self) -> int | None:
        """Start Caddy if it is not running; the pid it runs under (None if it could
        not be started this time)."""
        pid = self.caddy.pid()
        if pid is not None and self.caddy.answering():
            self.pid, self._backoff, self._failing, self._seen = pid, 0.0, False, True
            return pid
        if time.monotonic() < self._next_try:
            return None
        was_watched = self._seen
        try:
            pid = self.caddy.start(announce=self.log.info)
        except (TemporaryError, PermanentError) as exc:
            self._backoff = min(self.max_backoff, max(1.0, self._backoff * 2))
            self._next_try = time.monotonic() + self._backoff
            message = (f"embedded Caddy could not be started (next try in "
                       f"{self._backoff:.0f}s): {exc}")
            self.log.error("%s", message)
            if not self._failing:
                self.notify("error", message)
            self.pid, self._failing = None, True
            return None
        if was_watched:
            self.restarts += 1
            message = (f"embedded Caddy had stopped; started it again (pid {pid}) "
                       "with its saved config")
            self.log.warning("%s", message)
            self.notify("warning", message)
        self.pid, self._failing, self._seen = pid, False, True
        return pid

    def _watch(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # the watcher must outlive any surprise
                self.log.exception("embedded Caddy watcher failed")

    def start(self) -> Supervisor:
        if self._thread is None:
            other = self.lease.acquire()
            if other is not None:
                self.log.warning("another bosun (pid %s) supervises the embedded Caddy of this "
                                 "state folder too", other or "?")
        self.check()
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._watch, name="bosun-caddy-supervisor",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self, stop_caddy: bool = False, timeout: float | None = None) -> bool:
        """Stop watching (and Caddy with ``stop_caddy``); False when the watcher was still
        busy (starting Caddy) after ``timeout`` seconds."""
        self._stop.set()
        ended = True
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 5 if timeout is None else timeout)
            ended = not self._thread.is_alive()
            self._thread = None
        with contextlib.suppress(OSError):
            self.lease.release()
        if stop_caddy:
            self.caddy.stop()
            self.pid = None
        return ended

    def __enter__(self) -> Supervisor:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
