"""Real Knot, BIND and PowerDNS servers on random loopback ports, for tests and bench.

Each server runs from Debian's binary in the foreground (no systemd), with all
its files in one temporary folder, and is ready in about 0.3 s. ``start``
waits until the zone answers a SOA query over TCP; ``stop`` terminates the
process; ``restart`` brings it back with the same files and ports.

``proxy.CountingProxy`` counts the UPDATE messages that reach a server.
"""

from __future__ import annotations

import base64
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import dns.message
import dns.opcode
import dns.query
import dns.rcode
import dns.rdatatype

TSIG_NAME = "bosun-key."
TSIG_ALGORITHM = "hmac-sha256"
PDNS_SCHEMA = Path("/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql")


def free_port() -> int:
    """A loopback port free for both TCP and UDP right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free loopback port")


def zone_text(zone: str, records: list[str] = (), serial: int = 1) -> str:  # type: ignore[assignment]
    """A minimal zone file: SOA, apex NS, the name server's address, then ``records``."""
    origin = zone.rstrip(".") + "."
    lines = [
        f"$ORIGIN {origin}",
        "$TTL 3600",
        f"@ IN SOA ns1.{origin} hostmaster.{origin} {serial} 3600 600 86400 300",
        f"@ IN NS ns1.{origin}",
        "ns1 IN A 127.0.0.1",
        *records,
    ]
    return "\n".join(lines) + "\n"


@dataclass
class DNSServer:
    """One server process serving one zone; ``kind`` is knot, bind or powerdns."""

    kind: str
    zone: str
    workdir: Path
    port: int = 0
    api_port: int = 0
    api_key: str = ""
    tsig_name: str = TSIG_NAME
    tsig_secret: str = field(default_factory=lambda: base64.b64encode(
        secrets.token_bytes(32)).decode())
    tsig_algorithm: str = TSIG_ALGORITHM
    host: str = "127.0.0.1"
    signed: bool = False  # knot only: sign the zone (DNSKEY, RRSIG, NSEC, CDS, CDNSKEY)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.workdir / f"{self.kind}.log"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.api_port}"

    @property
    def origin(self) -> str:
        return self.zone.rstrip(".") + "."

    # -- setup ------------------------------------------------------------------

    def prepare(self, records: list[str] = ()) -> None:  # type: ignore[assignment]
        """Write the configuration and the zone (replacing any earlier zone data)."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        getattr(self, f"_prepare_{self.kind}")(list(records))

    def _prepare_knot(self, records: list[str]) -> None:
        for sub in ("run", "db", "zones"):
            shutil.rmtree(self.workdir / sub, ignore_errors=True)
            (self.workdir / sub).mkdir()
        (self.workdir / "zones" / f"{self.origin}zone").write_text(
            zone_text(self.zone, records))
        conf = f"""
server:
    rundir: "{self.workdir}/run"
    listen: {self.host}@{self.port}
    tcp-workers: 1
    udp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: info
database:
    storage: "{self.workdir}/db"
key:
  - id: {self.tsig_name}
    algorithm: {self.tsig_algorithm}
    secret: {self.tsig_secret}
acl:
  - id: bosun
    key: {self.tsig_name}
    action: [transfer, update]
template:
  - id: default
    storage: "{self.workdir}/zones"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
zone:
  - domain: {self.origin}
    acl: bosun
"""
        if self.signed:
            conf = conf.replace("template:", """policy:
  - id: signed
    algorithm: ecdsap256sha256
    nsec3: off
    cds-cdnskey-publish: always
template:""") + "    dnssec-signing: on\n    dnssec-policy: signed\n"
        (self.workdir / "knot.conf").write_text(conf)

    def _prepare_bind(self, records: list[str]) -> None:
        for name in ("zone.db", "zone.db.jnl", "named.pid"):
            (self.workdir / name).unlink(missing_ok=True)
        (self.workdir / "zone.db").write_text(zone_text(self.zone, records))
        conf = f"""
options {{
    directory "{self.workdir}";
    pid-file "{self.workdir}/named.pid";
    session-keyfile "{self.workdir}/session.key";
    managed-keys-directory "{self.workdir}";
    listen-on port {self.port} {{ {self.host}; }};
    listen-on-v6 {{ none; }};
    recursion no;
    dnssec-validation no;
    notify no;
}};
controls {{ }};
key "{self.tsig_name}" {{ algorithm {self.tsig_algorithm}; secret "{self.tsig_secret}"; }};
zone "{self.origin}" {{
    type primary;
    file "{self.workdir}/zone.db";
    allow-update {{ key "{self.tsig_name}"; }};
    allow-transfer {{ key "{self.tsig_name}"; }};
}};
"""
        (self.workdir / "named.conf").write_text(conf)

    def _prepare_powerdns(self, records: list[str]) -> None:
        self.api_port = self.api_port or free_port()
        self.api_key = self.api_key or secrets.token_hex(16)
        db = self.workdir / "pdns.sqlite3"
        db.unlink(missing_ok=True)
        with sqlite3.connect(db) as conn:
            conn.executescript(PDNS_SCHEMA.read_text())
        conf = "\n".join([
            "launch=gsqlite3",
            f"gsqlite3-database={db}",
            f"local-address={self.host}:{self.port}",
            "api=yes",
            f"api-key={self.api_key}",
            "webserver=yes",
            f"webserver-address={self.host}",
            f"webserver-port={self.api_port}",
            "webserver-allow-from=127.0.0.0/8",
            "webserver-loglevel=normal",
            f"socket-dir={self.workdir}",
            "daemon=no",
            "guardian=no",
            "disable-syslog=yes",
            "log-timestamp=no",
            "loglevel=6",
            "",
        ])
        (self.workdir / "pdns.conf").write_text(conf)
        zone_file = self.workdir / "seed.zone"
        zone_file.write_text(zone_text(self.zone, records))
        # Seeded offline, before the server starts, as an operator would.
        subprocess.run(
            ["pdnsutil", f"--config-dir={self.workdir}", "load-zone", self.origin,
             str(zone_file)],
            check=True, capture_output=True,
        )
        subprocess.run(
            ["pdnsutil", f"--config-dir={self.workdir}", "set-meta", self.origin,
             "SOA-EDIT-API", "INCREASE"],
            check=True, capture_output=True,
        )

    # -- process ----------------------------------------------------------------

    def _command(self) -> list[str]:
        if self.kind == "knot":
            return ["knotd", "-c", str(self.workdir / "knot.conf")]
        if self.kind == "bind":
            return ["named", "-g", "-n", "1", "-c", str(self.workdir / "named.conf")]
        return ["pdns_server", f"--config-dir={self.workdir}"]

    def start(self, timeout: float = 15.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            return
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self._command(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        query = dns.message.make_query(self.origin, dns.rdatatype.SOA)
        while True:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited ({self.proc.returncode}):\n"
                                   + self.log_tail())
            try:
                answer = dns.query.tcp(query, self.host, port=self.port, timeout=0.5)
                if (answer.rcode() == dns.rcode.NOERROR and answer.answer
                        and (self.kind != "powerdns" or self._api_up())):
                    return
            except (OSError, EOFError, dns.exception.DNSException):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.kind} did not answer in {timeout}s:\n"
                                   + self.log_tail())
            time.sleep(0.05)

    def _api_up(self) -> bool:
        try:
            with socket.create_connection((self.host, self.api_port), timeout=0.5):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def api_requests(self, method: str) -> int:
        """PowerDNS: requests with ``method`` its web server has logged so far."""
        text = self.log_path.read_text(errors="replace")
        return sum(1 for line in text.splitlines() if f'"{method} /api/' in line)


def start_server(kind: str, workdir: Path, zone: str = "example.com",
                 records: list[str] = ()) -> DNSServer:  # type: ignore[assignment]
    server = DNSServer(kind=kind, zone=zone, workdir=workdir)
    for attempt in range(3):
        server.prepare(records)
        try:
            server.start()
            return server
        except RuntimeError:
            if attempt == 2:
                raise
            server.port = 0  # the port was taken meanwhile: pick another one
            server.api_port = 0
    return server


__all__ = ["DNSServer", "free_port", "start_server", "zone_text"]
