"""Scalar types shared by every manifest kind.

Part of the model layer: imports nothing of bosun. Durations, DNS-label names,
host names, cron expressions and the enums that travel between stages live here.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import re
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

API_VERSION = "bosun/v1"


class Frozen(BaseModel):
    """Base of every model: immutable, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Kind(StrEnum):
    REPOSITORY = "Repository"
    HOST = "Host"
    STACK = "Stack"
    GATEWAY = "Gateway"
    ROUTE = "Route"
    DNS_ZONE = "DNSZone"
    DNS_RECORD = "DNSRecord"
    SCHEDULE = "Schedule"
    SECRET = "Secret"
    POLICY = "Policy"


# -- durations ---------------------------------------------------------------

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_DURATION_FULL = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
DURATION_PATTERN = _DURATION_FULL.pattern


def duration_seconds(text: str) -> float:
    """Seconds in a duration such as ``90s``, ``15m`` or ``1h30m``."""
    if not _DURATION_FULL.match(text):
        raise ValueError(f"{text!r} is not a duration (use forms like 90s, 15m, 1h30m)")
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(text))


def _check_duration(text: str) -> str:
    if duration_seconds(text) <= 0:
        raise ValueError(f"{text!r} is not longer than zero")
    return text


Duration = Annotated[
    str,
    Field(
        json_schema_extra={"pattern": DURATION_PATTERN},
        description="A duration such as 90s, 15m, 1h30m or 500ms.",
    ),
    AfterValidator(_check_duration),
]

# -- names ---------------------------------------------------------------------

DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
Name = Annotated[
    str,
    StringConstraints(pattern=DNS_LABEL_PATTERN, max_length=63),
    Field(description="A DNS label: lower-case letters, digits and '-', at most 63."),
]

_HOSTNAME_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def _check_hostname(text: str, *, wildcard: bool) -> str:
    name = text.rstrip(".")
    if not name or len(name) > 253:
        raise ValueError(f"{text!r} is not a valid host name")
    labels = name.split(".")
    if wildcard and labels[0] == "*":
        labels = labels[1:]
        if len(labels) < 2:
            raise ValueError(f"wildcard {text!r} needs at least two labels after '*'")
    for label in labels:
        if not _HOSTNAME_LABEL.match(label):
            raise ValueError(f"{text!r} is not a valid host name (label {label!r})")
    return name.lower()


def _check_route_host(text: str) -> str:
    return _check_hostname(text, wildcard=True)


def _check_plain_host(text: str) -> str:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return _check_hostname(text, wildcard=False)
    return text


RouteHost = Annotated[
    str,
    AfterValidator(_check_route_host),
    Field(description="A host name, or a wildcard such as *.example.com."),
]
HostName = Annotated[
    str,
    AfterValidator(_check_plain_host),
    Field(description="A host name or an IP address."),
]


def _check_fqdn(text: str) -> str:
    return _check_hostname(text, wildcard=False) + "."


ZoneName = Annotated[
    str,
    AfterValidator(_check_fqdn),
    Field(description="A DNS zone such as example.com (a trailing dot is optional)."),
]


def split_host_port(text: str) -> tuple[str, int]:
    """Split ``host:port``, ``[v6]:port`` or ``v4``; the port defaults to 0."""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep:
            raise ValueError(f"{text!r}: unclosed '['")
        port_text = rest.removeprefix(":") if rest else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    port = 0
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"{text!r}: port must be a number from 1 to 65535")
        port = int(port_text)
    return host, port


def _check_server(text: str) -> str:
    host, _ = split_host_port(text)
    if not host:
        raise ValueError(f"{text!r}: a server needs a host")
    _check_plain_host(host)
    return text


ServerAddress = Annotated[
    str,
    AfterValidator(_check_server),
    Field(description="host:port, [v6]:port or a bare host."),
]


def _check_listen(text: str) -> str:
    try:
        host, port = split_host_port(text if not text.startswith(":") else "0.0.0.0" + text)
    except ValueError as exc:
        raise ValueError(str(exc).replace(repr("0.0.0.0" + text), repr(text))) from None
    if port == 0:
        raise ValueError(f"{text!r}: a listen address needs a port, such as :80")
    if host not in ("0.0.0.0", "::", ""):
        _check_plain_host(host)
    return text


ListenAddress = Annotated[
    str,
    AfterValidator(_check_listen),
    Field(description="An address to listen on, such as :80 or 127.0.0.1:8080."),
]


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def _check_timezone(text: str) -> str:
    # Checked against the list of zones, never by opening a file named by the
    # manifest: ZoneInfo("America") raises IsADirectoryError, not a ValueError.
    if text not in _time_zones():
        close = difflib.get_close_matches(text, sorted(_time_zones()), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else " (use an IANA name such as " \
            "Europe/Paris or UTC)"
        raise ValueError(f"unknown time zone {text!r}{hint}")
    return text


TimeZone = Annotated[
    str, AfterValidator(_check_timezone), Field(description="An IANA time zone.")
]

# -- cron --------------------------------------------------------------------

_CRON_ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
_CRON_FIELDS: list[tuple[str, int, int, list[str]]] = [
    ("minute", 0, 59, []),
    ("hour", 0, 23, []),
    ("day of month", 1, 31, []),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 7, _DAYS),
]


def expand_cron(text: str) -> str:
    """The five-field form of a cron expression (aliases expanded)."""
    return _CRON_ALIASES.get(text.strip(), text.strip())


def _cron_value(part: str, lo: int, hi: int, names: list[str], field: str) -> int:
    low = part.lower()
    if low in names:
        return names.index(low) + (1 if field == "month" else 0)
    if not part.isdigit():
        raise ValueError(f"{field}: {part!r} is not a number")
    value = int(part)
    if not lo <= value <= hi:
        raise ValueError(f"{field}: {value} is outside {lo}-{hi}")
    return value


def check_cron(text: str) -> str:
    fields = expand_cron(text).split()
    if len(fields) != 5:
        raise ValueError(
            f"cron {text!r} must have five fields (minute hour day-of-month month day-of-week)"
        )
    for item, (field, lo, hi, names) in zip(fields, _CRON_FIELDS, strict=True):
        for part in item.split(","):
            base, _, step = part.partition("/")
            if step and (not step.isdigit() or int(step) == 0):
                raise ValueError(f"{field}: step {step!r} must be a positive number")
            if base == "*":
                continue
            first, dash, last = base.partition("-")
            a = _cron_value(first, lo, hi, names, field)
            if dash:
                b = _cron_value(last, lo, hi, names, field)
                if b < a:
                    raise ValueError(f"{field}: range {base!r} runs backwards")
    return text


Cron = Annotated[
    str,
    AfterValidator(check_cron),
    Field(description="A five-field cron expression, or @hourly/@daily/@weekly/@monthly."),
]


# -- shared small models -----------------------------------------------------


class SecretRef(Frozen):
    """A reference to one key of a Secret manifest."""

    secret: Name
    key: str = Field(default="value", min_length=1)

    def __str__(self) -> str:
        return f"Secret/{self.secret}#{self.key}"


class ResourceRef(Frozen):
    """``Kind/name``: how resources point at each other and how plans name them."""

    kind: Kind
    name: str

    # References are dictionary keys everywhere (graphs, indexes, plans): compare
    # and hash on the two fields alone, not through pydantic's generic methods.
    # ``_value_`` is the member's plain attribute; ``.value`` goes through a descriptor.
    def __eq__(self, other: object) -> bool:
        if other.__class__ is ResourceRef:
            return self.kind is other.kind and self.name == other.name
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.kind._value_, self.name))

    def __str__(self) -> str:
        return f"{self.kind._value_}/{self.name}"

    @classmethod
    def parse(cls, text: str, default_kind: Kind | None = None) -> ResourceRef:
        kind_text, sep, name = text.partition("/")
        if not sep:
            if default_kind is None:
                raise ValueError(f"{text!r} is not of the form Kind/name")
            return cls(kind=default_kind, name=text)
        try:
            kind = Kind(kind_text)
        except ValueError:
            close = difflib.get_close_matches(kind_text, [k.value for k in Kind], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{text!r}: unknown kind {kind_text!r}{hint}") from None
        return cls(kind=kind, name=name)

    def sort_key(self) -> tuple[str, str]:
        return (self.kind._value_, self.name)


JSONValue = Any
"""Plain JSON data (dicts, lists, strings, numbers, booleans, None)."""
