"""``bosun forget``: only Host and DNSZone, only a real state folder, and an event."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from providers.dns.remembered import NAMESPACE, RememberedZones, ZoneNote
from reconciler.cli import cli
from reconciler.state import StateStore


def forget(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["forget", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_only_hosts_and_zones_are_remembered(tmp_path: Path) -> None:
    code, out = forget("Stack/blog", "--state-dir", str(tmp_path))
    assert code == 2
    assert "Stack/blog: only Host/NAME and DNSZone/NAME are remembered" in out


def test_a_missing_state_folder_is_an_error(tmp_path: Path) -> None:
    code, out = forget("Host/b", "--state-dir", str(tmp_path / "nope"))
    assert code == 1
    assert "is not a bosun state folder" in out


def test_nothing_remembered_says_so(tmp_path: Path) -> None:
    code, out = forget("DNSZone/example", "--state-dir", str(tmp_path))
    assert code == 0
    assert out == "bosun remembers nothing made behind DNSZone/example.\n"


def test_a_remembered_zone_is_forgotten_with_an_event(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    zones = RememberedZones(tmp_path, store)
    zones.note("example", ZoneNote(origin="example.com.", server="server 127.0.0.1:53",
                                   owned=4))
    store.close()
    code, out = forget("DNSZone/example", "--state-dir", str(tmp_path))
    assert code == 0, out
    assert out == ("DNSZone/example: forgotten; bosun no longer warns about it. Left as they "
                   "are:\n  zone example.com. on server 127.0.0.1:53: 4 record set(s) left as "
                   "they are\n")
    store = StateStore(tmp_path)
    try:
        assert store.kv_items(NAMESPACE) == {}
        [event] = [e for e in store.events() if e.kind == "control"]
        assert event.message.startswith("DNSZone/example forgotten: zone example.com.")
    finally:
        store.close()
