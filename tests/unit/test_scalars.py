"""The scalar types of the model: durations, cron, names, host names, addresses, zones."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from reconciler.model import ResourceRef, duration_seconds
from reconciler.model.common import (
    Cron,
    Duration,
    HostName,
    ListenAddress,
    Name,
    RouteHost,
    ServerAddress,
    TimeZone,
    ZoneName,
    check_cron,
    expand_cron,
    split_host_port,
)


def _ok(annotation: Any, value: str) -> Any:
    return TypeAdapter(annotation).validate_python(value)


def _bad(annotation: Any, value: Any) -> str:
    with pytest.raises(ValidationError) as info:
        TypeAdapter(annotation).validate_python(value)
    return str(info.value.errors()[0]["msg"])


@pytest.mark.parametrize("text, seconds", [
    ("90s", 90), ("15m", 900), ("1h30m", 5400), ("500ms", 0.5), ("1d", 86400),
    ("1.5h", 5400), ("2h0m30s", 7230),
])
def test_durations(text: str, seconds: float) -> None:
    assert duration_seconds(text) == pytest.approx(seconds)
    assert _ok(Duration, text) == text


@pytest.mark.parametrize("text", ["", "90", "1 h", "1hour", "m", "-5s", "1h 30m", "1H", "1.s"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        duration_seconds(text)
    assert "is not a duration" in _bad(Duration, text)


def test_a_duration_is_longer_than_zero() -> None:
    assert "'0s' is not longer than zero" in _bad(Duration, "0s")
    assert "not longer than zero" in _bad(Duration, "0m0s")


@pytest.mark.parametrize("text", [
    "0 3 * * *", "*/15 * * * *", "0 0 1 jan *", "0 9-17 * * mon-fri", "5,35 */2 1-15/3 * 0",
    "@daily", "@hourly", "@weekly", "0 0 * * 7", "0 0 29 2 *",
])
def test_cron(text: str) -> None:
    assert check_cron(text) == text
    assert _ok(Cron, text) == text


@pytest.mark.parametrize("text, message", [
    ("61 * * * *", "minute: 61 is outside 0-59"),
    ("* 24 * * *", "hour: 24 is outside 0-23"),
    ("* * 0 * *", "day of month: 0 is outside 1-31"),
    ("* * * 13 *", "month: 13 is outside 1-12"),
    ("* * * * 8", "day of week: 8 is outside 0-7"),
    ("* * *", "must have five fields"),
    ("* * * * * *", "must have five fields"),
    ("*/0 * * * *", "step '0' must be a positive number"),
    ("5-1 * * * *", "range '5-1' runs backwards"),
    ("x * * * *", "minute: 'x' is not a number"),
    ("@sometimes", "must have five fields"),
    ("* * * foo *", "month: 'foo' is not a number"),
])
def test_bad_cron(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("*", r"\*")):
        check_cron(text)


def test_cron_aliases_expand() -> None:
    assert expand_cron("@daily") == "0 0 * * *"
    assert expand_cron(" 1 2 3 4 5 ") == "1 2 3 4 5"


@pytest.mark.parametrize("name", ["a", "blog", "web-1", "0day", "a" * 63])
def test_names(name: str) -> None:
    assert _ok(Name, name) == name


@pytest.mark.parametrize("name", ["", "Blog", "web_1", "-web", "web-", "a" * 64, "a.b", "ünï"])
def test_bad_names(name: str) -> None:
    _bad(Name, name)


@pytest.mark.parametrize("host, normal", [
    ("blog.example.com", "blog.example.com"), ("Blog.Example.COM.", "blog.example.com"),
    ("*.example.com", "*.example.com"), ("localhost", "localhost"),
    ("quickstart.localhost", "quickstart.localhost"),
    ("xn--bcher-kva.example", "xn--bcher-kva.example"),
])
def test_route_hosts(host: str, normal: str) -> None:
    assert _ok(RouteHost, host) == normal


@pytest.mark.parametrize("host, message", [
    ("*.com", "needs at least two labels after '*'"),
    ("a.*.example.com", "label '*'"),
    ("under_score.example.com", "label 'under_score'"),
    ("-lead.example.com", "label '-lead'"),
    ("a..b", "label ''"),
    ("a" * 64 + ".com", "is not a valid host name"),
    ("", "is not a valid host name"),
    ("exa mple.com", "label 'exa mple'"),
])
def test_bad_route_hosts(host: str, message: str) -> None:
    assert message in _bad(RouteHost, host)


def test_host_names_and_addresses() -> None:
    assert _ok(HostName, "192.0.2.1") == "192.0.2.1"
    assert _ok(HostName, "2001:db8::1") == "2001:db8::1"
    assert _ok(HostName, "ns1.example.com") == "ns1.example.com"
    _bad(HostName, "300.1.1.1.x_")
    assert _ok(ServerAddress, "192.0.2.53:53") == "192.0.2.53:53"
    assert _ok(ServerAddress, "[2001:db8::53]:5353") == "[2001:db8::53]:5353"
    assert "port must be a number" in _bad(ServerAddress, "192.0.2.53:99999")
    assert "unclosed '['" in _bad(ServerAddress, "[2001:db8::53")
    assert split_host_port("[::1]:53") == ("::1", 53)
    assert split_host_port("example.com") == ("example.com", 0)


@pytest.mark.parametrize("text", [":80", "127.0.0.1:8880", "[::1]:8443", "0.0.0.0:443"])
def test_listen_addresses(text: str) -> None:
    assert _ok(ListenAddress, text) == text


@pytest.mark.parametrize("text, message", [
    ("127.0.0.1", "needs a port"), (":0", "port must be a number from 1 to 65535"),
    (":99999", "':99999': port must be a number"), ("bad host!:80", "not a valid host name"),
])
def test_bad_listen_addresses(text: str, message: str) -> None:
    assert message in _bad(ListenAddress, text)


def test_zones_and_time_zones() -> None:
    assert _ok(ZoneName, "Example.COM") == "example.com."
    assert _ok(ZoneName, "example.com.") == "example.com."
    assert _ok(TimeZone, "Asia/Shanghai") == "Asia/Shanghai"
    assert _ok(TimeZone, "UTC") == "UTC"
    assert "did you mean 'Europe/Paris'" in _bad(TimeZone, "Europe/Pariss")
    for bad in ("America", "../../etc/passwd", "", "a" * 300, "zone.tab"):
        assert "unknown time zone" in _bad(TimeZone, bad)


def test_resource_refs() -> None:
    ref = ResourceRef.parse("Stack/blog")
    assert (ref.kind.value, ref.name, str(ref)) == ("Stack", "blog", "Stack/blog")
    assert str(ResourceRef.parse("blog", default_kind=ref.kind)) == "Stack/blog"
    with pytest.raises(ValueError, match="did you mean 'Stack'"):
        ResourceRef.parse("Stak/blog")
    with pytest.raises(ValueError, match="not of the form Kind/name"):
        ResourceRef.parse("blog")
