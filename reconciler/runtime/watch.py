"""The folder watcher of local mode: a save becomes a reconcile request, debounced.

Part of the runtime; a trigger. watchdog reports every file event under the
working folder; events in ignored folders (the state folder, ``.git``) and
editor scratch files are dropped; the callback runs once the folder has been
quiet for ``debounce`` seconds, so that an editor's write-rename-chmod dance
or a ``git checkout`` is one reconcile.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

IGNORED_DIRS = frozenset({".git", ".bosun", ".venv", "node_modules", "__pycache__"})
_SCRATCH_SUFFIXES = (".swp", ".swx", ".swo", "~", ".tmp", ".part")


def _is_scratch(name: str) -> bool:
    return name.startswith((".#", "#")) or name.endswith(_SCRATCH_SUFFIXES) or name == "4913"


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: FolderWatcher) -> None:
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = [event.src_path, getattr(event, "dest_path", "") or ""]
        if any(self._watcher.relevant(p) for p in paths if p):
            self._watcher.poke()


class FolderWatcher:
    def __init__(self, root: Path, callback: Callable[[], None], debounce: float = 0.4,
                 ignore: Iterable[Path] = ()) -> None:
        self.root = root.resolve()
        self._callback = callback
        self._debounce = debounce
        self._ignore = tuple(p.resolve() for p in ignore)
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._observer = Observer()
        self._observer.daemon = True

    def relevant(self, path: str | bytes) -> bool:
        text = path.decode() if isinstance(path, bytes) else path
        p = Path(text)
        if any(p == ig or p.is_relative_to(ig) for ig in self._ignore):
            return False
        try:
            parts = p.relative_to(self.root).parts
        except ValueError:
            return False
        if any(part in IGNORED_DIRS for part in parts[:-1]):
            return False
        return bool(parts) and parts[0] not in IGNORED_DIRS and not _is_scratch(parts[-1])

    def poke(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self._debounce, self._callback)
            self._timer.daemon = True
            self._timer.start()

    def start(self) -> None:
        self._observer.schedule(_Handler(self), str(self.root), recursive=True)
        self._observer.start()

    def stop(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
        self._observer.stop()
        self._observer.join(timeout=5)
