"""Certificates from an ACME server on loopback: pebble, validating against the gateway."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.caddy.conftest import Bosun
from tests.integration.caddy.engines import Pebble, free_ports, get_via, trusting, wait_for

pytestmark = [pytest.mark.caddy, pytest.mark.slow]


@pytest.fixture
def ports() -> list[int]:
    return free_ports(2)


@pytest.fixture
def pebble(short_dir: Path, ports: list[int]) -> Iterator[Pebble]:
    server = Pebble(folder=short_dir, http_port=ports[0], tls_port=ports[1])
    try:
        server.start()
        yield server
    finally:
        server.stop()


def test_a_route_gets_its_certificate_from_acme(bosun: Bosun, pebble: Pebble,
                                                ports: list[int]) -> None:
    http, https = ports
    bosun.write(f"""\
apiVersion: bosun/v1
kind: Gateway
metadata: {{name: public}}
spec:
  listen: {{http: "127.0.0.1:{http}", https: "127.0.0.1:{https}"}}
  tls: {{issuer: acme, email: ops@example.test, ca: "{pebble.directory}",
         caRoot: "{pebble.ca_cert}"}}
---
apiVersion: bosun/v1
kind: Route
metadata: {{name: www}}
spec:
  gateway: public
  hosts: [www.example.test]
  redirect: {{to: "https://example.test{{uri}}", code: 301}}
  tls: auto
""")
    applied = bosun.apply()
    assert applied.exit_code == 0, applied.output
    # pebble signs under a root of its own, made at its start: a handshake that
    # verifies against it proves the certificate came through ACME
    root = trusting(pem=pebble.root())

    def issued() -> bool:
        answer = get_via(https, "www.example.test", "/x", tls=True, verify=root)
        return answer.status_code == 301 and answer.headers["location"] == "https://example.test/x"

    wait_for(issued, 90, "a certificate from pebble", every=0.5)
    assert bosun.plan().exit_code == 0
