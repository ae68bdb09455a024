"""Canonical comparison of record values: spelling never makes a change."""

from __future__ import annotations

import pytest

from reconciler.model.dnsvalues import canonical, canonical_values, parse_value


@pytest.mark.parametrize(("rtype", "left", "right"), [
    ("A", "1.2.3.4", "001.2.3.4"),
    ("A", "10.0.0.1", "010.000.000.001"),
    ("AAAA", "2001:db8::1", "2001:DB8:0:0:0:0:0:1"),
    ("AAAA", "::ffff:192.0.2.1", "0:0:0:0:0:FFFF:C000:0201"),
    ("CNAME", "target.example.net", "Target.Example.NET."),
    ("NS", "ns1.example.net.", "NS1.example.net"),
    ("PTR", "host.example.com", "HOST.EXAMPLE.COM."),
    ("MX", "10 mail.example.com", "10   Mail.Example.Com."),
    ("SRV", "10 5 443 svc.example.com", "10 5 443 SVC.example.com."),
    ("TXT", "hello world", '"hello world"'),
    ("TXT", "it's", '"it\'s"'),
    ("TXT", 'say "hi"', '"say \\"hi\\""'),
    ("TXT", "caf\u00e9", '"caf\\195\\169"'),
    ("TXT", "x" * 300, '"' + "x" * 255 + '" "' + "x" * 45 + '"'),
    ("CAA", "0 issue letsencrypt.org", '0 issue "letsencrypt.org"'),
])
def test_same_value_in_two_spellings(rtype: str, left: str, right: str) -> None:
    assert canonical(parse_value(rtype, left)) == canonical(parse_value(rtype, right))


@pytest.mark.parametrize(("rtype", "left", "right"), [
    ("TXT", "Hello", "hello"),  # TXT keeps its case
    ("TXT", "ab", '"a" "b"'),  # one string is not two strings
    ("A", "10.0.0.1", "10.0.0.10"),
    ("MX", "10 mail.example.com", "20 mail.example.com"),
])
def test_different_values_stay_different(rtype: str, left: str, right: str) -> None:
    assert canonical(parse_value(rtype, left)) != canonical(parse_value(rtype, right))


def test_values_are_sorted_and_unique() -> None:
    assert canonical_values("A", ["10.0.0.2", "10.0.0.1", "010.0.0.1"]) == \
        ("10.0.0.1", "10.0.0.2")


@pytest.mark.parametrize(("rtype", "value", "message"), [
    ("CNAME", "www", "'www' is not a fully qualified name"),
    ("MX", "10 mail", "'mail' is not a fully qualified name"),
    ("CNAME", "@", "'@' is not a fully qualified name"),
    ("A", "300.1.1.1", ""),
    ("A", "example.com", ""),
    ("AAAA", "192.0.2.1", ""),
    ("MX", "mail.example.com", ""),
    ("TXT", '"unbalanced', ""),
])
def test_bad_values_are_refused(rtype: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message or None):
        parse_value(rtype, value)


def test_null_mx_and_root_target_are_fine() -> None:
    assert canonical(parse_value("MX", "0 .")) == "0 ."
    assert canonical(parse_value("CNAME", "example.com")) == "example.com."
