"""The tail of a run's output, with secret values redacted before it is kept anywhere.

actions -> **output** -> history (``schedule_runs.output``)

A run may print gigabytes; only the last ``OUTPUT_LIMIT`` bytes are kept, in
memory, while it runs. When it ends, every resolved secret value is replaced
by ``(sensitive)``. A secret cut in two by the start of the kept window could
survive redaction as a fragment, so when output was cut, as many bytes as the
longest secret are dropped from the start first.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence

from reconciler.model.schedule import OUTPUT_LIMIT
from reconciler.model.sensitive import Sensitive, redact

MARGIN = 4096


class OutputTail:
    def __init__(self, limit: int = OUTPUT_LIMIT) -> None:
        self.limit = limit
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self.total = 0
        self._lock = threading.Lock()

    def write(self, data: bytes | str) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8", "replace")
        if not data:
            return
        with self._lock:
            self._chunks.append(data)
            self._size += len(data)
            self.total += len(data)
            budget = self.limit + MARGIN * 16
            while self._size - len(self._chunks[0]) >= budget:
                self._size -= len(self._chunks.popleft())

    def text(self, secrets: Sequence[Sensitive]) -> tuple[str, bool]:
        """The kept output, redacted, at most ``limit`` bytes; and whether it was cut."""
        with self._lock:
            raw = b"".join(self._chunks)
        longest = max((len(s.reveal().encode()) for s in secrets), default=0)
        keep = self.limit + MARGIN + longest
        cut = self.total > len(raw) or len(raw) > keep
        if len(raw) > keep:
            raw = raw[-keep:]
        if cut:
            raw = raw[longest:]
        text = redact(raw.decode("utf-8", "replace"), list(secrets))
        encoded = text.encode("utf-8")
        if len(encoded) > self.limit:
            text = encoded[-self.limit:].decode("utf-8", "ignore")
            cut = True
        return text, cut
