"""Logging set-up with secret redaction.

Every resolved secret value is registered here; a filter on bosun's handlers
replaces any registered value that reaches a log line with ``(sensitive)``.
"""

from __future__ import annotations

import logging
import sys
import threading

from reconciler.model.sensitive import REDACTED, Sensitive

_lock = threading.Lock()
_values: set[str] = set()


def register(value: Sensitive) -> None:
    text = value.reveal()
    if len(text) >= 3:
        with _lock:
            _values.add(text)


def registered() -> list[str]:
    """Every registered value, longest first (for outputs that encode text, such as HTML)."""
    with _lock:
        return sorted(_values, key=len, reverse=True)


def scrub(text: str) -> str:
    with _lock:
        values = sorted(_values, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, REDACTED)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            exc_text = scrub(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
            record.exc_text = exc_text
        return True


def setup(level: int = logging.WARNING, stream: object = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger("bosun")
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
