"""JSON documents read by ``yamljson`` give what the YAML parser gives, or are left to it."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.yamljson import json_documents
from reconciler.yamlnodes import MAX_DEPTH, MAX_NODES, parse_documents

scalars = (st.none() | st.booleans() | st.integers()
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=20)
documents = st.dictionaries(st.text(max_size=10), values, max_size=5)
layouts = st.sampled_from([
    {}, {"indent": 2}, {"separators": (",", ":")}, {"indent": 1, "sort_keys": True},
])
separators = st.sampled_from(["\n---\n", "\n---  \n", "\n---\n\n", "\n---\n---\n", "\r\n---\r\n"])


def yaml_reading(text: str) -> list[tuple[int, Any, Any]]:
    """What the YAML parser reads (``positions=True`` never takes the JSON path)."""
    return [(d.index, d.data, d.positions[()]) for d in parse_documents(text, "f.yaml")]


def fast_reading(text: str) -> list[tuple[int, Any, Any]] | None:
    found = json_documents(text, MAX_DEPTH, MAX_NODES)
    if found is None:
        return None
    return [(d.index, d.data, d.positions[()])
            for d in parse_documents(text, "f.yaml", positions=False)]


@settings(max_examples=300, deadline=None)
@given(st.lists(documents, min_size=1, max_size=4), layouts, separators,
       st.sampled_from(["", "---\n", "\n\n", "---\n---\n"]), st.sampled_from(["", "\n", "\n---\n"]))
def test_json_streams_read_as_yaml_reads_them(docs: list[dict[str, Any]], layout: dict[str, Any],
                                              separator: str, head: str, tail: str) -> None:
    text = head + separator.join(json.dumps(d, **layout) for d in docs) + tail
    fast = fast_reading(text)
    if fast is not None:
        assert fast == yaml_reading(text)
    if text.isascii() and "\\ud" not in text.lower() and "\r" not in text:
        assert fast is not None  # plain generated JSON takes the fast path


def test_the_bench_layout_takes_the_fast_path() -> None:
    text = "\n---\n".join(json.dumps({"apiVersion": "bosun/v1", "kind": "DNSRecord",
                                      "metadata": {"name": f"h{i}"},
                                      "spec": {"values": [f"10.0.0.{i}"], "ttl": 300}})
                          for i in range(50)) + "\n"
    assert fast_reading(text) == yaml_reading(text)
    assert fast_reading(text) is not None


def test_what_yaml_reads_differently_is_left_to_it() -> None:
    left = [
        '{"a": 1, "a": 2}',  # a duplicate key: YAML reports it
        '{"a": NaN}',
        '{"a": "\\ud83d\\ude00"}',  # a surrogate pair
        '{"a": "caf\u00e9"}',  # not ASCII
        '\t{"a": 1}',  # a tab before the document
        '{"a" : 1}',  # a key apart from its colon
        '{"a"\n: 1}',
        '{"' + "k" * 200 + '": 1}',  # maybe longer than a YAML key may be
        '# comment\n{"a": 1}',
        '%YAML 1.2\n---\n{"a": 1}',
        '{"a": 1}\n...\n',
        '--- {"a": 1}',
        '[1, 2]',
        'a: 1',
        '{"a": 1} {"b": 2}',
        "[" * 70 + "]" * 70,
    ]
    for text in left:
        assert json_documents(text, MAX_DEPTH, MAX_NODES) is None, text
    problems = parse_documents('{"a": 1, "a": 2}', "f.yaml", positions=False)[0].problems
    assert problems and "duplicate key" in problems[0].message


def test_deep_documents_are_left_to_yaml() -> None:
    deep = '{"a": ' + "[" * 70 + "]" * 70 + "}"
    assert json_documents(deep, MAX_DEPTH, MAX_NODES) is None
    shallow = '{"a": ' + "[" * 10 + "]" * 10 + ', "b": "' + "{" * 80 + '"}'
    assert fast_reading(shallow) == yaml_reading(shallow)
