"""Real engines for the Caddy tests: Caddy, a counting admin proxy, containers, pebble.

Everything listens on loopback on ports the kernel hands out; names carry a
random suffix so that tests can run beside other engineers' on one Docker.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import docker
import httpx

from providers.caddy.embedded import caddy_binary

IMAGE = "bosun.local/busybox:1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def free_ports(n: int) -> list[int]:
    """n distinct free ports (held together while chosen, so they differ)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # the engine is not there yet
            last = exc
        else:
            if last:
                return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


# -- a Caddy of its own (an "external" gateway) -----------------------------------


@contextlib.contextmanager
def text_upstream(body: str) -> Iterator[int]:
    """A loopback HTTP server answering every GET with ``body``; yields its port."""
    payload = body.encode()

    class Text(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Text)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class CaddyProcess:
    folder: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def socket(self) -> Path:
        return self.folder / "admin.sock"

    @property
    def admin_url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def root_ca(self) -> Path:
        return self.folder / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        config = {"admin": {"listen": f"unix/{self.socket}"},
                  "apps": {"pki": {"certificate_authorities": {"local": {"install_trust": False}}}}}
        (self.folder / "initial.json").write_text(json.dumps(config))
        env = dict(os.environ, XDG_DATA_HOME=str(self.folder / "data"),
                   XDG_CONFIG_HOME=str(self.folder / "config"))
        log = (self.folder / "caddy.log").open("ab")
        self.proc = subprocess.Popen(
            [caddy_binary(), "run", "--config", str(self.folder / "initial.json")],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        log.close()
        wait_for(self.answering, 15, "Caddy's admin socket")

    def answering(self) -> bool:
        if not self.socket.exists():
            return False
        with self.admin() as client:
            return client.get("/config/").status_code == 200

    def admin(self) -> httpx.Client:
        return httpx.Client(transport=httpx.HTTPTransport(uds=str(self.socket)),
                            base_url="http://localhost", timeout=30)

    def config(self) -> tuple[dict[str, Any], str]:
        with self.admin() as client:
            response = client.get("/config/")
            response.raise_for_status()
            return response.json() or {}, response.headers["etag"]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None


@contextlib.contextmanager
def caddy_process() -> Iterator[CaddyProcess]:
    # A short folder: unix socket paths are limited to 108 bytes.
    with tempfile.TemporaryDirectory(prefix="bosun-caddy-") as folder:
        caddy = CaddyProcess(Path(folder))
        caddy.start()
        try:
            yield caddy
        finally:
            caddy.stop()


# -- a counting proxy in front of an admin socket -----------------------------------


@dataclass
class AdminProxy:
    """Forwards HTTP on a loopback port to Caddy's admin socket and counts requests.

    ``before_write``, when set, runs once before the first write is forwarded
    (to change Caddy's config between bosun's read and its write).
    """

    socket: Path
    requests: list[tuple[str, str, int]] = field(default_factory=list)
    before_write: Callable[[], None] | None = None
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def writes(self) -> list[tuple[str, str, int]]:
        return [r for r in self.requests if r[0] not in ("GET", "HEAD")]

    def start(self) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                if self.command not in ("GET", "HEAD") and proxy.before_write is not None:
                    hook, proxy.before_write = proxy.before_write, None
                    hook()
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("content-type", "if-match", "accept")}
                with httpx.Client(transport=httpx.HTTPTransport(uds=str(proxy.socket)),
                                  base_url="http://localhost", timeout=120) as client:
                    answer = client.request(self.command, self.path, content=body,
                                            headers=headers)
                proxy.requests.append((self.command, self.path, answer.status_code))
                self.send_response(answer.status_code)
                for key in ("Content-Type", "Etag"):
                    if key in answer.headers:
                        self.send_header(key, answer.headers[key])
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def do_GET(self) -> None:
                self._forward()

            def do_POST(self) -> None:
                self._forward()

            def do_PUT(self) -> None:
                self._forward()

            def do_PATCH(self) -> None:
                self._forward()

            def do_DELETE(self) -> None:
                self._forward()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


# -- a stack's container ---------------------------------------------------------


@dataclass
class WebContainer:
    """One container of ``stack``'s service ``web``, labelled as compose labels it."""

    stack: str
    body: str
    client: docker.APIClient
    container: str | None = None
    host_port: int = 0

    def start(self, host_port: int | None = None) -> None:
        self.remove()
        self.host_port = host_port or free_port()
        script = (f"mkdir -p /www && echo {self.body} > /www/index.html "
                  "&& exec httpd -f -p 8080 -h /www")
        created = self.client.create_container(
            IMAGE, command=["sh", "-c", script], name=f"{self.stack}-web-1",
            labels={"com.docker.compose.project": self.stack,
                    "com.docker.compose.service": "web"},
            ports=[8080],
            host_config=self.client.create_host_config(
                port_bindings={8080: ("127.0.0.1", self.host_port)}),
        )
        self.container = created["Id"]
        self.client.start(self.container)
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{self.host_port}/").status_code == 200,
                 20, f"the container of {self.stack} to serve")

    def remove(self) -> None:
        if self.container is not None:
            with contextlib.suppress(docker.errors.NotFound):
                self.client.remove_container(self.container, force=True)
            self.container = None


@contextlib.contextmanager
def web_container(stack: str, body: str) -> Iterator[WebContainer]:
    client = docker.APIClient(version="auto")
    try:
        client.inspect_image(IMAGE)  # type: ignore[no-untyped-call]
    except docker.errors.ImageNotFound:
        raise AssertionError(
            f"image {IMAGE} is missing: run scripts/engines.sh images (make engines)") from None
    box = WebContainer(stack=stack, body=body, client=client)
    try:
        box.start()
        yield box
    finally:
        box.remove()
        client.close()


# -- an ACME server on loopback: pebble, with a DNS server that says 127.0.0.1 -------------


@dataclass
class Pebble:
    folder: Path
    http_port: int
    tls_port: int
    directory: str = ""
    ca_cert: Path = Path()
    management: str = ""
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self) -> None:
        for program in ("pebble", "pebble-challtestsrv", "openssl"):
            if shutil.which(program) is None:
                raise AssertionError(f"{program} is missing: apt-get install pebble openssl "
                                     "(scripts/engines.sh installs them)")
        dns_port, mgmt_dns, listen, mgmt = free_ports(4)
        self.ca_cert = self.folder / "pebble.pem"
        key = self.folder / "pebble.key"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-nodes", "-keyout", str(key), "-out", str(self.ca_cert), "-days", "2",
             "-subj", "/CN=pebble", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            check=True, capture_output=True)
        config = {"pebble": {
            "listenAddress": f"127.0.0.1:{listen}", "managementListenAddress": f"127.0.0.1:{mgmt}",
            "certificate": str(self.ca_cert), "privateKey": str(key),
            "httpPort": self.http_port, "tlsPort": self.tls_port,
            "ocspResponderURL": "", "externalAccountBindingRequired": False}}
        (self.folder / "pebble.json").write_text(json.dumps(config))
        log = (self.folder / "pebble.log").open("ab")
        # Every name resolves to 127.0.0.1 (and to no IPv6 address: the gateway
        # listens on IPv4 loopback only).
        self.procs.append(subprocess.Popen(
            ["pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
             "-dns01", f"127.0.0.1:{dns_port}", "-http01", "", "-https01", "", "-tlsalpn01", "",
             "-management", f"127.0.0.1:{mgmt_dns}"], stdout=log, stderr=subprocess.STDOUT))
        env = dict(os.environ, PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0")
        self.procs.append(subprocess.Popen(
            ["pebble", "-config", str(self.folder / "pebble.json"),
             "-dnsserver", f"127.0.0.1:{dns_port}"], stdout=log, stderr=subprocess.STDOUT,
            env=env))
        log.close()
        self.directory = f"https://127.0.0.1:{listen}/dir"
        self.management = f"https://127.0.0.1:{mgmt}"
        verify = ssl.create_default_context(cafile=str(self.ca_cert))
        wait_for(lambda: httpx.get(self.directory, verify=verify).status_code == 200, 20,
                 "pebble's directory")
        wait_for(lambda: _port_open(mgmt_dns), 10, "pebble-challtestsrv")

    def root(self) -> str:
        """The PEM of the root pebble issues under (new on every start)."""
        verify = ssl.create_default_context(cafile=str(self.ca_cert))
        response = httpx.get(f"{self.management}/roots/0", verify=verify)
        response.raise_for_status()
        return response.text

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


# -- requests through the gateway ---------------------------------------------------


def get_via(port: int, host: str, path: str = "/", *, tls: bool,
            verify: ssl.SSLContext | bool = False, auth: tuple[str, str] | None = None,
            ) -> httpx.Response:
    """GET ``path`` of ``host`` from the gateway on 127.0.0.1:``port`` (Host and SNI)."""
    scheme = "https" if tls else "http"
    with httpx.Client(verify=verify, timeout=10, auth=auth) as client:
        return client.get(f"{scheme}://127.0.0.1:{port}{path}",
                          headers={"Host": f"{host}:{port}"},
                          extensions={"sni_hostname": host})


def trusting(pem_file: Path | None = None, pem: str | None = None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(pem_file) if pem_file else None, cadata=pem)
