"""Logging set-up with secret redaction, and the scrubbing of everything bosun stores.

Every resolved secret value is registered here; a filter on bosun's handlers
replaces any registered value that reaches a log line with ``(sensitive)``.
``scrub`` also finds a value in its JSON-escaped forms (a multi-line key, a
password with a quote) so that JSON answers are covered; ``scrub_stored`` and
``scrub_data`` clean what is written to the state store, which is served again
after a restart, before any secret has been resolved anew.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from typing import Any

from reconciler.model.sensitive import REDACTED, Sensitive

_lock = threading.Lock()
_values: set[str] = set()
# Every form of every value, longest first; replaced whole, read without the lock.
_forms: list[tuple[str, ...]] = [()]


def _escaped(value: str) -> set[str]:
    """``value`` as it appears in text: as is, and inside a JSON string."""
    return {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}


def register(value: Sensitive) -> None:
    text = value.reveal()
    if len(text) >= 3:
        with _lock:
            if text not in _values:
                _values.add(text)
                forms = set(_forms[0]) | _escaped(text)
                _forms[0] = tuple(sorted(forms, key=len, reverse=True))


def registered() -> list[str]:
    """Every registered value, longest first (for outputs that encode text, such as HTML)."""
    with _lock:
        return sorted(_values, key=len, reverse=True)


def scrub(text: str) -> str:
    for form in _forms[0]:
        if form in text:
            text = text.replace(form, REDACTED)
    return text


def holds_secret(text: str) -> bool:
    return any(form in text for form in _forms[0])


# Fields of stored documents (statuses, plans, history) that identify: a ref,
# a name, a revision, a digest, an enum, a time. They come from the repository,
# Git and the clock, never from a resolved value, and a coincidental replacement
# (a password "admin" inside "Stack/admin") would make the document unreadable.
# Free-form maps (a resource's ``facts``) get no such exemption.
IDENTITY_FIELDS = frozenset({
    "ref", "resource", "kind", "name", "revision", "digest", "desired_digest",
    "observed_digest", "last_applied_revision", "last_attempted_revision", "sync", "state",
    "health", "type", "action", "result", "provider", "path", "last_transition",
    "format_version",
})
_FREE_FORM = frozenset({"facts"})


def _identity(key: Any) -> bool:
    return isinstance(key, str) and (key in IDENTITY_FIELDS or key.endswith("_at"))


def scrub_data(value: Any, identities: bool = True) -> Any:
    """``value`` (JSON-like data) with every registered value in its strings replaced.

    Strings under ``IDENTITY_FIELDS`` keys are kept unless ``identities`` is False.
    """
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if identities and _identity(k) and isinstance(v, str | None):
                out[k] = v
            else:
                out[scrub(k) if isinstance(k, str) else k] = scrub_data(
                    v, identities and k not in _FREE_FORM)
        return out
    if isinstance(value, list | tuple):
        return [scrub_data(v, identities) for v in value]
    return value


def scrub_stored(text: str) -> str:
    """Text about to be stored: a JSON document is cleaned value by value.

    Replacing inside serialised JSON could cut an escape sequence in two
    (a value ``na`` inside ``\\na``); decoding first keeps the document valid.
    """
    if not holds_secret(text):
        return text
    if text[:1] in ("{", "["):
        try:
            data = json.loads(text)
        except ValueError:
            return scrub(text)
        return json.dumps(scrub_data(data), ensure_ascii=False)
    return scrub(text)


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
