"""What a sender proves, checked against the shared secret in constant time.

Part of the webhook receivers. GitHub and generic senders sign the raw body
(HMAC-SHA256, ``sha256=<hex>``); GitLab sends the token itself. Header values
are compared as the bytes the sender sent: ASGI servers decode headers as
latin-1, so a non-ASCII token would not match its UTF-8 form otherwise
(``header_bytes``, with ``same_token`` in the model, shared with the API).
"""

from __future__ import annotations

import hashlib
import hmac

from reconciler.model.sensitive import header_bytes, same_token


def sign(secret: bytes, body: bytes) -> str:
    """``sha256=<hex HMAC-SHA256 of body>``, as GitHub and generic senders send it."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def signature_problem(header: str, given: str | None, secret: bytes, body: bytes,
                      missing: str = "") -> str | None:
    """None when ``given`` (the ``header`` value) signs ``body``, else why not."""
    if not given:
        return f"missing {header}{missing}"
    if not hmac.compare_digest(header_bytes(given.strip()), sign(secret, body).encode()):
        return f"{header} does not match the body"
    return None


__all__ = ["header_bytes", "same_token", "sign", "signature_problem"]
