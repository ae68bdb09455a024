"""DNS wire pieces of the RFC 2136 backend: owner names, exact socket reads, bad answers.

Shared by the AXFR reader (``axfr``) and the UPDATE exchange (``rfc2136``).
Names are walked as dnspython walks them (pointers back only, targets that
end before the part that points, at most 16 hops), into tuples of labels; a
name the fast walk does not take is read by dnspython, which names the fault.
"""

from __future__ import annotations

import socket
import time

import dns.exception
import dns.name

MAX_HOPS = 16


class BadResponse(dns.exception.FormError):
    """A DNS query response does not respond to the question asked."""


class _Malformed(Exception):
    """The fast walk met something unusual: dnspython reads the name and says what."""


def _labels(wire: bytes, pos: int, cache: dict[int, tuple[bytes, ...]]
            ) -> tuple[tuple[bytes, ...], int]:
    """The labels of the name at ``pos`` (root label left out) and where the name ends.

    As dnspython requires, a pointer points before the name (or the previous
    target), and what it points at ends before the part that points; ``cache``
    holds the labels found at each offset of the message already read, so that
    a pointer usually costs one lookup.
    """
    labels: list[bytes] = []
    starts: list[int] = []
    end = -1
    limit = len(wire)
    lowest = segment = pos
    hops = 0
    while True:
        if pos >= limit:
            raise _Malformed
        count = wire[pos]
        if count == 0:
            if end < 0:
                end = pos + 1
            break
        if count >= 0xC0:
            if pos + 1 >= limit:
                raise _Malformed
            target = ((count & 0x3F) << 8) | wire[pos + 1]
            if end < 0:
                end = pos + 2
            hops += 1
            if target >= lowest or hops > MAX_HOPS:
                raise _Malformed
            found = cache.get(target)
            if found is not None:
                labels.extend(found)
                break
            lowest = target
            limit = segment  # what the pointer leads to ends before the part that points
            segment = pos = target
            continue
        if count >= 64 or pos + 1 + count > limit:
            raise _Malformed
        starts.append(pos)
        labels.append(wire[pos + 1:pos + 1 + count])
        pos += 1 + count
    if sum(len(label) + 1 for label in labels) + 1 > 255:
        raise _Malformed
    for i, offset in enumerate(starts):
        cache[offset] = tuple(labels[i:])
    return tuple(labels), end


def name_at(wire: bytes, pos: int, cache: dict[int, tuple[bytes, ...]]
            ) -> tuple[tuple[bytes, ...], int]:
    """The labels of the name at ``pos`` and where it ends; dnspython's errors for bad ones."""
    try:
        return _labels(wire, pos, cache)
    except (_Malformed, IndexError):
        # dnspython raises the error that names the problem (BadPointer, ...).
        name, used = dns.name.from_wire(wire, pos)
        return tuple(name.labels[:-1]), pos + used


def receive(sock: socket.socket, count: int, expiration: float) -> bytes:
    """Exactly ``count`` bytes, by the ``time.monotonic()`` deadline ``expiration``."""
    data = bytearray()
    while len(data) < count:
        left = expiration - time.monotonic()
        if left <= 0:
            raise dns.exception.Timeout
        sock.settimeout(left)
        try:
            chunk = sock.recv(count - len(data))
        except TimeoutError:
            raise dns.exception.Timeout from None
        if not chunk:
            raise EOFError("EOF")
        data += chunk
    return bytes(data)
