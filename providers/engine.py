"""Connections to container engines, shared by the providers that need one.

One ``docker.APIClient`` per Host (Docker, or Podman through its
Docker-compatible socket), chosen by ``Host.engine`` and ``Host.url``.
Engine exceptions are translated here into bosun's error types, so nothing
above ``providers/`` sees a docker exception.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import docker
import docker.constants
import docker.errors
import docker.utils
import requests.exceptions

from reconciler.errors import ObserveError, PermanentError, TemporaryError
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.kinds import Engine, Host

DEFAULT_URLS = {
    Engine.DOCKER: "unix:///var/run/docker.sock",
    Engine.PODMAN: "unix:///run/podman/podman.sock",
}
API_TIMEOUT = 60.0
MIN_API_VERSION = "1.24"
PROBE_TIMEOUT = 10
T = TypeVar("T")


def engine_url(host: Host) -> str:
    """The engine address for ``host``: its ``url``, else the engine's local socket.

    ``DOCKER_HOST`` overrides the default of the implicit ``local`` Host only.
    """
    if host.spec.url:
        return host.spec.url
    if host.name == "local" and host.spec.engine is Engine.DOCKER and os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    return DEFAULT_URLS[host.spec.engine]


class EngineClients:
    """Caches one API client per engine URL; safe to share between threads."""

    def __init__(self, timeout: float = API_TIMEOUT) -> None:
        self._clients: dict[str, docker.APIClient] = {}
        self._lock = threading.Lock()
        self.timeout = timeout

    def get(self, host: Host) -> docker.APIClient:
        url = engine_url(host)
        with self._lock:
            client = self._clients.get(url)
        if client is not None:
            return client
        # Connect outside the lock: a dead host must not hold up the others.
        client = self._connect(host, url)
        with self._lock:
            found = self._clients.setdefault(url, client)
        if found is not client:
            client.close()
        return found

    def _connect(self, host: Host, url: str) -> docker.APIClient:
        # version="auto" asks the engine inside the constructor and leaks that
        # socket when the engine is down; ask with a probe that is always closed.
        ssh = url.startswith("ssh://")
        timeout = int(self.timeout)
        ref = ResourceRef(kind=Kind.HOST, name=host.name)
        where = f"{host.spec.engine.value} engine at {url}"
        if url.startswith("unix://"):
            # docker's unix adapter leaks the socket of a failed connect: try it here.
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(PROBE_TIMEOUT)
                try:
                    sock.connect(url.removeprefix("unix://"))
                except OSError as exc:
                    raise ObserveError(
                        f"cannot reach {where}: engine not reachable ({exc.strerror or exc})",
                        ref) from None
        try:
            probe = docker.APIClient(base_url=url, version=MIN_API_VERSION,
                                     timeout=min(timeout, PROBE_TIMEOUT), use_ssh_client=ssh)
        except docker.errors.DockerException as exc:
            raise ObserveError(f"cannot reach {where}: {_short(exc)}", ref) from None
        try:
            server = str(probe.version(api_version=False)["ApiVersion"])
        except (docker.errors.DockerException, requests.exceptions.RequestException,
                OSError) as exc:
            raise ObserveError(f"cannot reach {where}: {_short(exc)}", ref) from None
        finally:
            probe.close()
        default = docker.constants.DEFAULT_DOCKER_API_VERSION
        version = server if docker.utils.version_lt(server, default) else default
        return docker.APIClient(base_url=url, version=version, timeout=timeout,
                                use_ssh_client=ssh)

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    # requests' connection errors nest the useful part in parentheses at the end
    if "Connection aborted" in text or "Failed to establish" in text or "No such file" in text:
        return "engine not reachable (connection refused or socket missing)"
    return text[:300]


def translate(exc: BaseException, ref: ResourceRef | None, *, reading: bool) -> Exception:
    """bosun's error for an engine exception."""
    if isinstance(exc, requests.exceptions.ConnectionError | FileNotFoundError
                  | ConnectionRefusedError):
        short = _short(exc)
        message = short if short.startswith("engine not reachable") \
            else f"engine not reachable: {short}"
        return ObserveError(message, ref) if reading else TemporaryError(message, ref)
    if isinstance(exc, requests.exceptions.Timeout):
        message = "engine did not answer in time"
        return ObserveError(message, ref) if reading else TemporaryError(message, ref)
    if isinstance(exc, docker.errors.APIError):
        message = exc.explanation if isinstance(exc.explanation, str) else str(exc)
        if reading:
            return ObserveError(message, ref)
        if exc.status_code is not None and exc.status_code >= 500:
            return TemporaryError(message, ref)
        return PermanentError(message, ref)
    if isinstance(exc, docker.errors.DockerException):
        return ObserveError(_short(exc), ref) if reading else PermanentError(_short(exc), ref)
    raise exc


@contextmanager
def engine_errors(ref: ResourceRef | None = None, *, reading: bool) -> Iterator[None]:
    """Translate docker and connection exceptions raised inside the block."""
    try:
        yield
    except (docker.errors.DockerException, requests.exceptions.RequestException,
            ConnectionError, FileNotFoundError) as exc:
        raise translate(exc, ref, reading=reading) from None


def call(fn: Callable[[], T], ref: ResourceRef | None = None, *, reading: bool) -> T:
    with engine_errors(ref, reading=reading):
        return fn()
