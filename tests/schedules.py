"""Helpers for schedule tests: manifests, a counting HTTP server, history queries."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from reconciler.model.schedule import ScheduleRun, ScheduleRunResult
from reconciler.state import StateStore

BOSUN_YAML = """\
apiVersion: bosun/v1
kind: Repository
metadata: {{name: repository}}
spec: {{owner: {owner}}}
"""


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def schedule(name: str, when: str, action: str, **extra: str) -> str:
    """A Schedule manifest; ``when`` is ``every: 2s`` or ``cron: "..."``; ``action`` is YAML."""
    lines = [f"  {k}: {v}" for k, v in extra.items()]
    body = "\n".join(lines)
    return (f"apiVersion: bosun/v1\nkind: Schedule\nmetadata: {{name: {name}}}\nspec:\n"
            f"  {when}\n  action:\n    {action}\n" + (body + "\n" if body else ""))


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HitServer:
    url: str
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, path: str | None = None) -> int:
        with self.lock:
            return sum(1 for h in self.hits if path is None or h.path == path)


@contextmanager
def hit_server(status: int = 200, delay: float = 0.0) -> Iterator[HitServer]:
    """A loopback HTTP server that records requests and echoes their headers back."""
    state = HitServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with state.lock:
                state.hits.append(Hit(self.command, self.path, dict(self.headers), body))
            if delay:
                threading.Event().wait(delay)
            text = json.dumps({"path": self.path, "headers": dict(self.headers)}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def runs(store: StateStore, name: str, limit: int = 1000) -> list[ScheduleRun]:
    """Oldest first."""
    return list(reversed(store.schedule_history(name, limit)))


def finished(store: StateStore, name: str) -> list[ScheduleRun]:
    return [r for r in runs(store, name) if r.result is not ScheduleRunResult.RUNNING]


def ran(store: StateStore, name: str) -> list[ScheduleRun]:
    """Runs that did something (not skipped, not still running)."""
    return [r for r in finished(store, name) if r.result is not ScheduleRunResult.SKIPPED]
