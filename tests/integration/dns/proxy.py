"""A DNS-over-TCP forwarding proxy on loopback that counts what clients send.

Tests and the benchmark point bosun (or octoDNS) at the proxy instead of the
server, and read how many UPDATE messages and zone transfers went through:
the proof that an apply sent exactly one UPDATE, or none.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections import Counter

import dns.opcode
import dns.rdatatype


class CountingProxy:
    """DNS over TCP from a loopback port to a server; counts what clients send."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = int(self._sock.getsockname()[1])
        self._closed = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def updates(self) -> int:
        with self._lock:
            return self.counts["UPDATE"]

    def transfers(self) -> int:
        with self._lock:
            return self.counts["AXFR"]

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()

    def close(self) -> None:
        self._closed = True
        self._sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=30)
        except OSError:
            client.close()
            return
        back = threading.Thread(target=self._pump, args=(upstream, client), daemon=True)
        back.start()
        buffer = b""
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                buffer += data
                while len(buffer) >= 2:
                    (size,) = struct.unpack("!H", buffer[:2])
                    if len(buffer) < 2 + size:
                        break
                    self._count(buffer[2 : 2 + size])
                    buffer = buffer[2 + size :]
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                upstream.shutdown(socket.SHUT_WR)
            back.join(timeout=30)
            client.close()
            upstream.close()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def _count(self, wire: bytes) -> None:
        if len(wire) < 12:
            return
        flags, qdcount = struct.unpack("!H", wire[2:4])[0], struct.unpack("!H", wire[4:6])[0]
        key = dns.opcode.to_text(dns.opcode.from_flags(flags))
        if key == "QUERY" and qdcount:
            offset = 12
            while offset < len(wire) and wire[offset]:
                offset += 1 + wire[offset]
            if offset + 3 <= len(wire):
                (qtype,) = struct.unpack("!H", wire[offset + 1 : offset + 3])
                if qtype == dns.rdatatype.AXFR:
                    key = "AXFR"
        with self._lock:
            self.counts[key] += 1
