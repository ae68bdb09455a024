"""Basic auth on a route: Caddy gets a bcrypt hash, and no plaintext lands anywhere.

The embedded Caddy of a state folder serves a route to a loopback upstream
behind ``basicAuth`` from an env Secret. The password works, a second plan is
empty (the live hash is kept while it matches), the route's health probe logs
in, and neither the state folder (Caddy's autosave and log, bosun's files and
SQLite rows) nor bosun's output holds the password.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from providers.caddy import CaddyProvider, EmbeddedCaddy
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.status import HealthState
from reconciler.pipeline import load_desired
from reconciler.provider import ProviderContext
from reconciler.secrets import Secrets
from tests.integration.caddy.conftest import Bosun
from tests.integration.caddy.engines import free_ports, get_via, text_upstream, wait_for
from tests.secretscan import leaks

pytestmark = pytest.mark.caddy

ENV = "BOSUN_TEST_ADMIN_PASSWORD"


@pytest.fixture
def upstream() -> Iterator[int]:
    with text_upstream("behind the door") as port:
        yield port


def manifests(http_port: int, https_port: int, upstream: int) -> str:
    return f"""\
apiVersion: bosun/v1
kind: Gateway
metadata: {{name: edge}}
spec:
  listen: {{http: "127.0.0.1:{http_port}", https: "127.0.0.1:{https_port}"}}
  tls: {{issuer: internal}}
---
apiVersion: bosun/v1
kind: Route
metadata: {{name: admin}}
spec:
  gateway: edge
  hosts: [admin.example.test]
  tls: "off"
  to: {{url: "http://127.0.0.1:{upstream}"}}
  basicAuth: {{secret: admins, realm: staff}}
---
apiVersion: bosun/v1
kind: Secret
metadata: {{name: admins}}
spec:
  from: env
  keys: {{alice: {ENV}}}
"""


def test_basic_auth_password_is_only_ever_hashed(short_dir: Path, upstream: int) -> None:
    password = f"pw-{uuid.uuid4().hex}"
    bosun = Bosun(short_dir / "repo", short_dir / "state", environ={ENV: password})
    try:
        http_port, https_port = free_ports(2)
        bosun.write(manifests(http_port, https_port, upstream))
        applied = bosun.apply()
        assert applied.exit_code == 0, applied.output

        def answers(auth: tuple[str, str] | None) -> int:
            return get_via(http_port, "admin.example.test", tls=False, auth=auth).status_code

        wait_for(lambda: answers(("alice", password)) == 200, 20, "the route with a login")
        assert answers(None) == 401
        assert answers(("alice", "wrong")) == 401
        second = bosun.plan()
        assert second.exit_code == 0, second.output  # the live hash still matches

        desired = load_desired(bosun.repo)
        ctx = ProviderContext(state_dir=bosun.state_dir, owner=desired.owner,
                              secrets=Secrets(desired, {ENV: password}))
        provider = CaddyProvider()
        health = provider.health(desired, provider.observe(desired, ctx), ctx)
        assert health[ResourceRef(kind=Kind.ROUTE, name="admin")].state is HealthState.HEALTHY

        autosave = EmbeddedCaddy(bosun.state_dir).paths.autosave.read_text()
        assert '"$2b$' in autosave  # what Caddy has is a bcrypt hash
        outputs = applied.output + applied.stderr + second.output + second.stderr
        assert password not in outputs
    finally:
        EmbeddedCaddy(bosun.state_dir).stop()
    found = leaks(bosun.state_dir, password)
    assert not found, "\n".join(found)
