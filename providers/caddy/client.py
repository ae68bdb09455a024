"""bosun's own client for Caddy's admin API, on httpx.

Part of the Caddy provider: the only module that talks to the admin endpoint.
It reads the whole config with its ETag (``GET /config/``) and replaces it in
one request guarded by ``If-Match`` (``POST /config/``). Caddy facts it relies
on: ``POST /config/`` honours ``If-Match`` and answers 412 when the config
changed since it was read (and applies nothing); ``/load`` ignores ``If-Match``,
so it is never used; a failed load keeps the old config serving.

httpx exceptions are translated here, so nothing above sees one:
reading -> ``ObserveError``; writing -> ``TemporaryError`` when Caddy could not
be reached or answered 5xx for a reason other than the config,
``PermanentError`` when Caddy refused the config.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from reconciler.errors import ObserveError, PermanentError, TemporaryError
from reconciler.model.common import ResourceRef

READ_TIMEOUT = 10.0
# Every write re-provisions the whole config: about 1 s per 10,000 routes.
WRITE_TIMEOUT = 120.0


class ConfigConflict(TemporaryError):
    """Caddy answered 412: its config changed between our read and our write."""


@dataclass(frozen=True)
class Snapshot:
    """Caddy's whole config as read, and the ETag that guards a write of it."""

    config: dict[str, Any]
    etag: str


def _transport_and_base(url: str) -> tuple[httpx.HTTPTransport, str]:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        # Caddy checks the Host header on its admin endpoint; "localhost" is accepted
        # for unix sockets. No TLS here: skip loading the CA bundle (tens of ms).
        return httpx.HTTPTransport(uds=parts.path, verify=False), "http://localhost"
    if parts.scheme == "http":
        return httpx.HTTPTransport(verify=False), f"http://{parts.netloc}"
    if parts.scheme == "https":
        return httpx.HTTPTransport(), f"https://{parts.netloc}"
    raise PermanentError(f"admin endpoint {url!r}: use unix:///path or http://host:port")


def _caddy_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:500] or f"HTTP {response.status_code}"
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return str(body["error"])
    return json.dumps(body)[:500]


class AdminClient:
    """One admin endpoint: ``unix:///path/to/admin.sock`` or ``http://host:port``.

    ``writes`` counts the write requests this client sent (tests and the
    benchmark read it).
    """

    def __init__(self, url: str, ref: ResourceRef | None = None,
                 read_timeout: float = READ_TIMEOUT, write_timeout: float = WRITE_TIMEOUT) -> None:
        self.url = url
        self.ref = ref
        transport, base = _transport_and_base(url)
        self._http = httpx.Client(
            transport=transport, base_url=base,
            timeout=httpx.Timeout(read_timeout, connect=5.0),
            headers={"Accept": "application/json"},
        )
        self._write_timeout = write_timeout
        parts = urlsplit(url)
        self._socket = parts.path if parts.scheme == "unix" else None
        self.writes = 0

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- errors -------------------------------------------------------------

    def _unreachable(self, exc: httpx.HTTPError) -> str:
        if isinstance(exc, httpx.TimeoutException):
            return f"Caddy admin API at {self.url} did not answer in time"
        cause = str(exc) or type(exc).__name__
        if isinstance(exc, httpx.ConnectError) and (
                "No such file" in cause or "Connection refused" in cause):
            cause = "connection refused (is Caddy running?)"
        return f"cannot reach Caddy admin API at {self.url}: {cause}"

    def _check_socket(self) -> None:
        """Raise ``httpx.ConnectError`` when nothing listens on the unix socket.

        httpcore leaves the socket of a refused unix connection unclosed; trying
        first with a socket of our own keeps that leak out of every failed read.
        """
        if self._socket is None:
            return
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(5.0)
            try:
                probe.connect(self._socket)
            except OSError as exc:
                raise httpx.ConnectError(f"{exc.strerror or exc}") from None

    # -- reading ------------------------------------------------------------

    def ping(self) -> bool:
        """True when the endpoint answers at all."""
        try:
            self._check_socket()
            self._http.get("/config/apps/__bosun_ping__", timeout=2.0)
        except httpx.HTTPError:
            return False
        return True

    def read(self) -> Snapshot:
        """The whole config and its ETag. Raises ``ObserveError``."""
        try:
            self._check_socket()
            response = self._http.get("/config/")
        except httpx.HTTPError as exc:
            raise ObserveError(self._unreachable(exc), self.ref) from None
        if response.status_code != 200:
            raise ObserveError(
                f"Caddy admin API at {self.url} answered {response.status_code} to "
                f"GET /config/: {_caddy_message(response)}", self.ref)
        etag = response.headers.get("etag")
        if not etag:
            raise ObserveError(
                f"Caddy admin API at {self.url} sent no ETag; Caddy 2.6 or later is needed",
                self.ref)
        try:
            config = response.json()
        except ValueError:
            raise ObserveError(f"Caddy admin API at {self.url} sent a config that is not JSON",
                               self.ref) from None
        if config is None:
            config = {}
        if not isinstance(config, dict):
            raise ObserveError(f"Caddy admin API at {self.url} sent a config that is not "
                               "a JSON object", self.ref)
        return Snapshot(config=config, etag=etag)

    # -- writing ------------------------------------------------------------

    def replace(self, config: dict[str, Any], etag: str) -> None:
        """Replace the whole config, only if it is still the one ``etag`` names.

        Raises ``ConfigConflict`` on 412 (nothing was applied).
        """
        body = json.dumps(config, separators=(",", ":")).encode()
        try:
            self._check_socket()
            response = self._http.post(
                "/config/", content=body, timeout=self._write_timeout,
                headers={"Content-Type": "application/json", "If-Match": etag},
            )
        except httpx.HTTPError as exc:
            # A timed-out write may still be applied by Caddy: the next read tells.
            raise TemporaryError(self._unreachable(exc), self.ref) from None
        finally:
            self.writes += 1
        if response.status_code == 412:
            raise ConfigConflict(
                f"Caddy's config at {self.url} changed since it was read (412)", self.ref,
                delay=0.0)
        if response.status_code >= 400:
            message = _caddy_message(response)
            raise PermanentError(f"Caddy refused the config: {message}", self.ref)

    def stop(self) -> None:
        """Ask Caddy to exit gracefully (``POST /stop``)."""
        try:
            self._check_socket()
            self._http.post("/stop", timeout=15.0)
        except httpx.HTTPError as exc:
            raise TemporaryError(self._unreachable(exc), self.ref) from None
        finally:
            self.writes += 1
