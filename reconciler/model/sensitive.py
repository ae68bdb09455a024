"""A secret value that never shows itself.

Part of the model layer. ``Sensitive`` wraps a resolved secret; ``repr``,
``str``, ``format`` and pydantic's JSON dump all give ``(sensitive)``. Only
``reveal()`` returns the value, and only providers that hand it to an engine
call it.
"""

from __future__ import annotations

import hmac
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

REDACTED = "(sensitive)"


class Sensitive:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return REDACTED

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sensitive):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(("Sensitive", len(self._value)))

    def __reduce__(self) -> Any:  # pickling would write the value somewhere
        raise TypeError("Sensitive values cannot be pickled")

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls._coerce,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda _v: REDACTED, when_used="always"
            ),
        )

    @classmethod
    def _coerce(cls, value: Any) -> Sensitive:
        if isinstance(value, Sensitive):
            return value
        if isinstance(value, str):
            return cls(value)
        raise TypeError("a sensitive value must be a string")


def redact(text: str, secrets: list[Sensitive] | tuple[Sensitive, ...]) -> str:
    """Replace every secret value occurring in ``text`` with ``(sensitive)``."""
    for secret in sorted(secrets, key=lambda s: -len(s.reveal())):
        value = secret.reveal()
        if len(value) >= 3:
            text = text.replace(value, REDACTED)
    return text


def redacted(value: Any) -> Any:
    """``value`` with every ``Sensitive`` inside it (at any depth) replaced by ``(sensitive)``."""
    cls = value.__class__
    if cls is str or cls is int or value is None or cls is bool or cls is float:
        return value  # most of a plan's payload: answered before any isinstance
    if cls is dict:
        return {k: redacted(v) for k, v in value.items()}
    if cls is list:
        return [redacted(v) for v in value]
    if isinstance(value, Sensitive):
        return REDACTED
    if isinstance(value, dict):
        return {k: redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redacted(v) for v in value)
    return value


def header_bytes(value: str) -> bytes:
    """A request header's value as sent on the wire.

    ASGI servers decode header bytes as latin-1; encoding back gives the bytes
    a sender sent (a non-ASCII token arrives as UTF-8 bytes).
    """
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:  # not from a request: text given by a caller
        return value.encode()


def same_token(given: str, secret: bytes) -> bool:
    """Whether a header value is ``secret``, compared in constant time."""
    return hmac.compare_digest(header_bytes(given), secret)
