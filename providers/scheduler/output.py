"""The tail of a run's output, with secret values redacted before it is kept anywhere.

actions -> **output** -> history (``schedule_runs.output``)

A run may print gigabytes; only its end is kept, in memory, while it runs
(``OUTPUT_LIMIT`` bytes plus a spare window). When it ends, every resolved
secret value is replaced by ``(sensitive)`` and the last ``OUTPUT_LIMIT``
bytes are kept. Output that was cut may begin with the end of a secret whose
start was dropped: that fragment is removed before redaction.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence

from reconciler.model.schedule import OUTPUT_LIMIT
from reconciler.model.sensitive import Sensitive, redact

SPARE = 64 * 1024
"""Kept beyond the limit, so that redaction (which shortens) still leaves the limit."""


def strip_fragment(raw: bytes, secrets: Sequence[Sensitive]) -> bytes:
    """``raw`` without a leading piece that could be the end of a secret value."""
    cut = 0
    for secret in secrets:
        value = secret.reveal().encode()
        for size in range(len(value) - 1, cut, -1):
            if raw.startswith(value[-size:]):
                cut = size
                break
    return raw[cut:]


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
            budget = self.limit + SPARE
            while self._size - len(self._chunks[0]) >= budget:
                self._size -= len(self._chunks.popleft())

    def text(self, secrets: Sequence[Sensitive]) -> tuple[str, bool]:
        """The kept output, redacted, at most ``limit`` bytes; and whether it was cut."""
        with self._lock:
            raw = b"".join(self._chunks)
        cut = self.total > len(raw)
        if cut:
            raw = strip_fragment(raw, secrets)
        text = redact(raw.decode("utf-8", "replace"), list(secrets))
        encoded = text.encode("utf-8")
        if len(encoded) > self.limit:
            text = encoded[-self.limit:].decode("utf-8", "ignore")
            cut = True
        return text, cut
