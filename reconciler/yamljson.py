"""YAML streams whose documents are all JSON objects, read with ``json``.

Used by ``yamlnodes.parse_documents`` (without positions) before the YAML
parser: generated manifests are often JSON, one object per document between
``---`` lines, and the json module reads them several times faster than
ruamel.yaml's events can be turned into data (2,000 DNS records: 10 ms
against 60 ms).

YAML 1.2 reads such a document exactly as JSON does, with a few exceptions,
and any text that could meet one of them is left to the YAML parser (``None``
is returned): a key met twice (a problem YAML reports), NaN and Infinity (not
JSON), characters outside printable ASCII (YAML reads some as line breaks,
refuses others, and a tab before a document's first brace), UTF-16 surrogate
escapes (json pairs them, YAML refuses them), a key that could be longer than
YAML's 1,024-character limit or stands apart from its colon, nesting deeper or
documents larger than the YAML reader allows, and anything but ``---`` lines
and JSON objects (comments, directives, ``...``, other documents).
``tests/unit/test_yamljson.py`` holds the two readings against each other.
"""

from __future__ import annotations

import json
import re
from typing import Any

_UNUSUAL = re.compile(r"[^\n\r\x20-\x7e]")
_APART = re.compile(r'"[ \r\n]+:')
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
# Lines that make the text more than "---" lines and JSON: a "---" with
# something after it, a document end, a directive, a comment.
_ODD_LINE = re.compile(r"^(?:---[ ]*[^ \r\n]|\.\.\.|%|#)", re.MULTILINE)
_SEPARATOR = re.compile(r"^---[ ]*\r?$", re.MULTILINE)
# A \uXXXX escape is six characters: a key of more characters than this might
# be longer than YAML's 1,024 as written.
_MAX_KEY = 1024 // 6 - 1


class _NotPlain(Exception):
    """The text is not a plain stream of JSON objects: the YAML parser reads it."""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs) or max(map(len, out), default=0) > _MAX_KEY:
        raise _NotPlain
    return out


def _constant(name: str) -> Any:
    raise _NotPlain


_STRICT = json.JSONDecoder(object_pairs_hook=_pairs, parse_constant=_constant)


def _depth(value: Any, limit: int) -> bool:
    """True when ``value`` nests no deeper than ``limit`` collections."""
    if limit < 0:
        return False
    if isinstance(value, dict):
        return all(_depth(v, limit - 1) for v in value.values())
    if isinstance(value, list):
        return all(_depth(v, limit - 1) for v in value)
    return True


def json_documents(text: str, max_depth: int, max_nodes: int
                   ) -> list[tuple[int, Any, int, int]] | None:
    """``(index, data, line, column)`` of every non-empty document, or None.

    ``index`` counts documents as the YAML parser does (an empty document
    after a ``---`` line counts); line and column (1-based) are those of the
    document's opening brace. A document nesting deeper than ``max_depth`` or
    long enough to hold ``max_nodes`` nodes is left to the YAML parser, which
    says what is wrong with it.
    """
    if _UNUSUAL.search(text) or _APART.search(text) or _ODD_LINE.search(text) \
            or ("\\u" in text and _SURROGATE.search(text)):
        return None
    out: list[tuple[int, Any, int, int]] = []
    index = 0
    start = 0  # of the current document's text
    line = 1  # at ``start``
    ends = [(m.start(), m.end()) for m in _SEPARATOR.finditer(text)]
    try:
        for n, (end, after) in enumerate([*ends, (len(text), len(text))]):
            body = text[start:end]
            stripped = body.strip()
            if stripped:
                if stripped[0] != "{" or len(stripped) >= max_nodes:
                    return None
                data = _STRICT.decode(stripped)
                if stripped.count("{") + stripped.count("[") > max_depth \
                        and not _depth(data, max_depth):
                    return None
                first = end - len(body.lstrip())
                column = first - (text.rfind("\n", 0, first) + 1) + 1
                out.append((index, data, line + text.count("\n", start, first), column))
                index += 1
            elif n:  # "---" then nothing: an empty document (text before the first is none)
                index += 1
            line += text.count("\n", start, after)
            start = after
    except (_NotPlain, ValueError, RecursionError):
        return None
    return out
