"""The saved transfer of a signed Knot zone (tests/cases/dns/knot-signed.axfr) as wire messages."""

from __future__ import annotations

from pathlib import Path

import dns.message
import dns.name
import dns.rdatatype

from tests.integration.dns.capture_cases import SEPARATOR

CASES = Path(__file__).resolve().parents[2] / "cases" / "dns"
ORIGIN = dns.name.from_text("example.com.")


def saved_transfer() -> tuple[list[bytes], dns.message.Message]:
    """The messages of the saved transfer, and a query they answer.

    Read back from text, the closing SOA has merged into the opening one: it
    is put back at the end, where the server sent it.
    """
    text = (CASES / "knot-signed.axfr").read_text()
    messages = [dns.message.from_text(block) for block in text.split(SEPARATOR)]
    messages[-1].answer.append(messages[0].answer[0])
    query = dns.message.make_query(ORIGIN, dns.rdatatype.AXFR)
    query.id = messages[0].id
    return [m.to_wire() for m in messages], query
