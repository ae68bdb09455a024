"""The Caddy provider under ``bosun serve``: supervising the embedded Caddy.

Part of the Caddy provider (its ``BackgroundProvider`` side). The runtime
calls ``start`` when serve starts and ``stop`` when it stops; in between,
``follow`` runs with each reconcile of the followed revision (from ``health``,
never for a plan alone) and supervises the embedded Caddy of the state folder
while the desired state has a Gateway without ``admin``, and stops
supervising when it has none.

When serve stops, supervision stops but Caddy keeps serving, like the
containers: a restart or upgrade of bosun never takes routes down, and the
next serve (or ``bosun apply``) adopts the running Caddy. ``bosun gateway
stop`` stops it. A Caddy that no Gateway uses any more also keeps running
(with no bosun routes left in it) until ``bosun gateway stop``.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from providers.caddy import inputs
from providers.caddy.supervisor import Supervisor
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.desired import DesiredState
from reconciler.provider import ServiceHost

log = logging.getLogger("bosun.caddy")

INTERVAL = 2.0


def embedded_gateways(desired: DesiredState) -> list[str]:
    """The Gateways that run on the embedded Caddy (those without ``admin``)."""
    return sorted(name for name, gw in inputs.gateways(desired).items() if not gw.spec.admin)


class Supervision:
    """Supervises the embedded Caddy while ``bosun serve`` runs and the repository uses it."""

    def __init__(self, interval: float = INTERVAL) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._host: ServiceHost | None = None
        self._supervisor: Supervisor | None = None
        self._gateways: list[str] = []

    @property
    def serving(self) -> bool:
        """Whether ``bosun serve`` runs this provider (between ``start`` and ``stop``)."""
        return self._host is not None

    @property
    def supervisor(self) -> Supervisor | None:
        return self._supervisor

    def start(self, host: ServiceHost) -> None:
        with self._lock:
            self._host = host

    def follow(self, desired: DesiredState, state_dir: Path) -> None:
        """Supervise when ``desired`` has a Gateway without ``admin``; stop when it has none."""
        names = embedded_gateways(desired)
        with self._lock:
            host = self._host
            if host is None or host.stopping:
                return
            self._gateways = names
            current = self._supervisor
            if names and current is None:
                # The host is bound here: a restart finishing while serve stops is
                # still recorded (the store closes after the background work stops).
                def notify(level: str, message: str) -> None:
                    self._notify(host, level, message)

                supervisor = Supervisor(state_dir, log=log, interval=self.interval,
                                        notify=notify)
                try:
                    supervisor.start()
                except Exception as exc:  # health must go on; the next reconcile tries again
                    supervisor.stop()
                    log.exception("cannot supervise the embedded Caddy")
                    notify("error", f"cannot supervise the embedded Caddy: {exc}")
                    return
                self._supervisor = supervisor
                log.info("supervising the embedded Caddy (pid %s, admin %s) for %s",
                         supervisor.pid, supervisor.endpoint,
                         ", ".join(f"Gateway/{n}" for n in names))
            elif not names and current is not None:
                self._supervisor = None
                current.stop()
                message = ("no Gateway uses the embedded Caddy any more: stopped supervising it "
                           f"(pid {current.pid}); it keeps running until 'bosun gateway stop'")
                log.info("%s", message)
                host.record_event("caddy", message)

    def stop(self, timeout: float) -> bool:
        """Stop supervising; Caddy keeps serving. True when the watcher ended in time."""
        with self._lock:
            self._host = None
            supervisor, self._supervisor = self._supervisor, None
        if supervisor is None:
            return True
        ended = supervisor.stop(timeout=max(0.0, timeout))
        pid = supervisor.caddy.pid()
        if pid is None:
            log.warning("stopped supervising the embedded Caddy; it is not running")
        else:
            log.info("stopped supervising the embedded Caddy (pid %d); it keeps serving "
                     "('bosun gateway stop' stops it)", pid)
        return ended

    def _notify(self, host: ServiceHost, level: str, message: str) -> None:
        refs: list[ResourceRef | None] = [
            ResourceRef(kind=Kind.GATEWAY, name=n) for n in self._gateways]
        for ref in refs or [None]:
            try:
                host.record_event("caddy", message, level=level, ref=ref)
            except Exception:  # an event lost must not stop the watcher
                log.exception("cannot record an event")
