"""Building the RFC 2136 UPDATE messages of one write.

One message when it fits (65,535 bytes on TCP), guarded by the zone's SOA as
read with the plan: any change to the zone since then moves the serial, the
server answers NXRRSET and applies nothing. A plan too large for one message
is packed greedily into as few as fit, a change (a record set and its marker)
never split between two; the first keeps the SOA guard, the later ones (the
serial has moved by then) guard every set they touch: absent for a new set,
present with exactly the values read for a changed one.

Records go to ``present()``/``add()`` one rdata at a time: an rdataset passed
whole carries its TTL into the prerequisite section, and servers answer FORMERR.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdata
import dns.tsig
import dns.update

from providers.dns.records import SetEdit, absolute_name

MAX_MESSAGE = 65535
# Header, question, TSIG record and the SOA guard stay well under this.
RESERVED = 600
RR_FIXED = 10  # type, class, TTL, RDLENGTH


class TooLarge(Exception):
    """A single change does not fit in one DNS message."""


@dataclass
class _Edit:
    name: dns.name.Name
    edit: SetEdit
    before: list[dns.rdata.Rdata]
    after: list[dns.rdata.Rdata]


@dataclass
class _Group:
    edits: list[_Edit]

    def sizes(self, origin: dns.name.Name) -> tuple[int, int]:
        """Upper bounds on the wire of its updates, and of its per-set prerequisites."""
        size = guards = 0
        for e in self.edits:
            # Owner names compress to their own labels plus a pointer to the origin.
            labels = e.name.relativize(origin).labels
            owner = sum(len(label) + 1 for label in labels) + 2 + RR_FIXED
            before = sum(owner + _rdlength(rd) for rd in e.before)
            size += (owner if e.before else 0) + sum(owner + _rdlength(rd) for rd in e.after)
            guards += before or owner
        return size, guards


def _rdlength(rdata: dns.rdata.Rdata) -> int:
    return len(rdata.to_wire() or b"")


def _prepare(groups: Sequence[Sequence[SetEdit]], origin: dns.name.Name) -> list[_Group]:
    names: dict[str, dns.name.Name] = {}
    out = []
    for group in groups:
        edits = []
        for edit in group:
            name = names.get(edit.name)
            if name is None:
                name = names[edit.name] = absolute_name(edit.name, origin)
            before = edit.before.rdatas() if edit.before else []
            after = edit.after.rdatas() if edit.after else []
            edits.append(_Edit(name, edit, before, after))
        out.append(_Group(edits))
    return out


def _message(origin: dns.name.Name, key: dns.tsig.Key | None, groups: Sequence[_Group],
             soa: dns.rdata.Rdata | None) -> dns.update.UpdateMessage:
    update = dns.update.UpdateMessage(
        origin, keyring={key.name: key} if key else None, keyname=key.name if key else None,
    )
    edits = [e for g in groups for e in g.edits]
    if soa is not None:
        update.present(origin, soa)
    else:
        for e in edits:
            if e.before:
                update.present(e.name, *e.before)
            else:
                update.absent(e.name, e.edit.type)
    # Deletes first: a CNAME may replace other data at the same name.
    for e in edits:
        if e.before:
            update.delete(e.name, e.edit.type)
    for e in edits:
        if e.after:
            assert e.edit.after is not None
            update.add(e.name, e.edit.after.ttl, *e.after)
    return update


Rendered = tuple[dns.update.UpdateMessage, bytes]
"""A message and its wire form, signed: sent as it is, so it is rendered once."""


def _render(message: dns.update.UpdateMessage) -> bytes | None:
    try:
        return message.to_wire()
    except dns.exception.TooBig:
        return None


def _checked(origin: dns.name.Name, key: dns.tsig.Key | None, groups: list[_Group],
             soa: dns.rdata.Rdata | None) -> list[Rendered]:
    """Messages for ``groups``, halved again should the estimate have been short."""
    message = _message(origin, key, groups, soa)
    wire = _render(message)
    if wire is not None:
        return [(message, wire)]
    if len(groups) == 1:
        raise TooLarge(groups[0].edits[0].edit.name)
    half = len(groups) // 2
    return _checked(origin, key, groups[:half], soa) + _checked(origin, key, groups[half:], None)


def update_messages(origin: dns.name.Name, key: dns.tsig.Key | None,
                    groups: Sequence[Sequence[SetEdit]], soa: dns.rdata.Rdata
                    ) -> list[Rendered]:
    """As few UPDATE messages as hold ``groups``; the first is guarded by ``soa``."""
    prepared = _prepare(groups, origin)
    whole = _message(origin, key, prepared, soa)
    wire = _render(whole)
    if wire is not None:
        return [(whole, wire)]
    budget = MAX_MESSAGE - RESERVED
    chunks: list[list[_Group]] = [[]]
    used = 0
    for group in prepared:
        size, guards = group.sizes(origin)
        cost = size + (0 if len(chunks) == 1 else guards)
        if chunks[-1] and used + cost > budget:
            chunks.append([])
            cost = size + guards
            used = 0
        chunks[-1].append(group)
        used += cost
    messages: list[Rendered] = []
    for i, chunk in enumerate(chunks):
        messages.extend(_checked(origin, key, chunk, soa if i == 0 else None))
    return messages
