"""Basic-auth accounts for Caddy's ``http_basic``: bcrypt hashes from Secrets.

Part of the Caddy provider. Caddy wants hashed passwords. bcrypt salts every
hash, so hashing again on each reconcile would change the config every time:
a password whose plaintext still matches the hash Caddy already has keeps that
hash. The plaintext leaves this module only inside a bcrypt hash, and plans
show accounts as ``(sensitive)``.
"""

from __future__ import annotations

import hashlib
import threading
from typing import Any

import bcrypt

from reconciler.model.sensitive import Sensitive

# Caddy's own `caddy hash-password` uses 14; 12 keeps a check near 0.2 s.
ROUNDS = 12

_checked: dict[tuple[str, str], bool] = {}
_lock = threading.Lock()


def _fingerprint(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def matches(plain: Sensitive, hashed: str) -> bool:
    """Whether ``hashed`` is a bcrypt hash of ``plain`` (checks are remembered)."""
    key = (hashed, _fingerprint(plain.reveal()))
    with _lock:
        known = _checked.get(key)
    if known is not None:
        return known
    try:
        ok = bcrypt.checkpw(plain.reveal().encode(), hashed.encode())
    except ValueError:
        ok = False
    with _lock:
        _checked[key] = ok
    return ok


def hash_password(plain: Sensitive) -> str:
    hashed = bcrypt.hashpw(plain.reveal().encode(), bcrypt.gensalt(ROUNDS)).decode()
    with _lock:
        _checked[(hashed, _fingerprint(plain.reveal()))] = True
    return hashed


def live_accounts(entry: dict[str, Any] | None) -> dict[str, str]:
    """user -> hash of the ``http_basic`` accounts in a live route entry."""
    if not entry:
        return {}
    for handler in entry.get("handle") or []:
        if isinstance(handler, dict) and handler.get("handler") == "authentication":
            basic = (handler.get("providers") or {}).get("http_basic") or {}
            return {
                str(a.get("username")): str(a.get("password"))
                for a in basic.get("accounts") or [] if isinstance(a, dict)
            }
    return {}


def accounts(users: dict[str, Sensitive], live: dict[str, str]) -> tuple[tuple[str, str], ...]:
    """(user, hash) pairs, sorted; a live hash is kept when it still matches."""
    out = []
    for user in sorted(users):
        current = live.get(user)
        if current is not None and matches(users[user], current):
            out.append((user, current))
        else:
            out.append((user, hash_password(users[user])))
    return tuple(out)
