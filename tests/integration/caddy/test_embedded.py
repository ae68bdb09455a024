"""bosun's own Caddy: a route to a stack over HTTPS, upstream moves, stop, resume, supervise."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from providers.caddy import CaddyProvider, EmbeddedCaddy, Supervisor
from providers.caddy.client import AdminClient
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.status import HealthState
from reconciler.pipeline import load_desired
from reconciler.provider import ProviderContext
from reconciler.secrets import Secrets
from tests.integration.caddy.conftest import Bosun
from tests.integration.caddy.engines import (
    free_ports,
    get_via,
    trusting,
    unique,
    wait_for,
    web_container,
)

pytestmark = pytest.mark.caddy


def stack_and_route(stack: str, http: int, https: int) -> str:
    return f"""\
apiVersion: bosun/v1
kind: Stack
metadata: {{name: {stack}}}
spec:
  compose:
    services:
      web: {{image: "bosun.local/busybox:1", ports: ["8080"]}}
---
apiVersion: bosun/v1
kind: Gateway
metadata: {{name: edge}}
spec:
  listen: {{http: "127.0.0.1:{http}", https: "127.0.0.1:{https}"}}
  tls: {{issuer: internal}}
---
apiVersion: bosun/v1
kind: Route
metadata: {{name: shop}}
spec:
  gateway: edge
  hosts: [shop.example.test]
  to: {{stack: {stack}, service: web, port: 8080}}
  tls: internal
  health: {{path: /index.html}}
"""


def route_health(bosun: Bosun) -> HealthState:
    desired = load_desired(bosun.repo)
    ctx = ProviderContext(state_dir=bosun.state_dir, owner=desired.owner,
                          secrets=Secrets(desired, {}))
    provider = CaddyProvider()
    observed = provider.observe(desired, ctx)
    return provider.health(desired, observed, ctx)[ResourceRef(kind=Kind.ROUTE, name="shop")].state


@pytest.mark.docker
def test_route_to_a_stack_serves_https_and_follows_its_port(bosun: Bosun) -> None:
    stack = unique("shop")
    http, https = free_ports(2)
    with web_container(stack, body=f"hello-from-{stack}") as web:
        bosun.write(stack_and_route(stack, http, https))
        applied = bosun.apply()
        assert applied.exit_code == 0, applied.output
        assert "started embedded Caddy" in applied.stderr
        caddy = EmbeddedCaddy(bosun.state_dir)
        pid = caddy.pid()
        assert pid is not None

        def serves() -> bool:
            root = trusting(caddy.paths.root_ca)  # install_trust is off: trust it here only
            answer = get_via(https, "shop.example.test", tls=True, verify=root)
            return answer.status_code == 200 and answer.text.strip() == f"hello-from-{stack}"

        wait_for(serves, 20, "the route over verified HTTPS")
        assert get_via(http, "shop.example.test", tls=False).status_code == 308
        assert route_health(bosun) is HealthState.HEALTHY
        assert bosun.plan().exit_code == 0

        old_port = web.host_port
        web.start()  # the stack is deployed again on another published port
        assert web.host_port != old_port
        assert route_health(bosun) is HealthState.DEGRADED
        planned = bosun.plan()
        assert planned.exit_code == 2, planned.output
        line = ('~ https.exact.handle.reverse_proxy.upstreams: '
                f'[{{"dial": "127.0.0.1:{old_port}"}}] -> '
                f'[{{"dial": "127.0.0.1:{web.host_port}"}}]')
        assert line in planned.output
        moved = bosun.apply()
        assert moved.exit_code == 0, moved.output
        assert "started embedded Caddy" not in moved.stderr
        assert caddy.pid() == pid  # no restart: the same Caddy took the new config
        wait_for(serves, 10, "the route on the new port")
        assert bosun.plan().exit_code == 0

        # stopped, it is planned as a change; apply starts it with its saved config
        stopped = bosun.gateway("stop")
        assert stopped.output.strip() == f"stopped embedded Caddy (pid {pid})."
        with pytest.raises(httpx.ConnectError):
            get_via(https, "shop.example.test", tls=True)
        planned = bosun.plan()
        assert planned.exit_code == 2
        assert "the embedded Caddy is not running: apply starts it" in planned.output
        resumed = bosun.apply()
        assert resumed.exit_code == 0, resumed.output
        assert "already as planned on Caddy" in resumed.output  # resumed: nothing to write
        assert caddy.pid() not in (None, pid)
        wait_for(serves, 20, "the route after a restart")
        assert "running (pid" in bosun.gateway("status").output


def test_supervisor_starts_caddy_again_with_its_config(short_dir: Path) -> None:
    supervisor = Supervisor(short_dir / "state", interval=0.2)
    try:
        supervisor.start()
        first = supervisor.pid
        assert first is not None
        (port,) = free_ports(1)
        with AdminClient(supervisor.endpoint) as client:
            snap = client.read()
            config = dict(snap.config)
            config["apps"] = {**config.get("apps", {}), "http": {"servers": {"kept": {
                "listen": [f"127.0.0.1:{port}"],
                "routes": [{"handle": [{"handler": "static_response", "body": "kept"}]}]}}}}
            client.replace(config, snap.etag)
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: supervisor.restarts == 1 and supervisor.pid not in (None, first), 20,
                 "the supervisor to start Caddy again")
        assert supervisor.caddy.answering()
        assert httpx.get(f"http://127.0.0.1:{port}/").text == "kept"
    finally:
        supervisor.stop(stop_caddy=True)
    assert supervisor.caddy.pid() is None
