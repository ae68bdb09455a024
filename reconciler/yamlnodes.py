"""YAML to plain data, keeping the position of every node.

Used by the load and resolve stages (manifests and compose files). The data is
built straight from the events of ruamel.yaml's C parser (ruamel.yaml.clib):
skipping ruamel's node graph halves the time a large repository takes to read,
and every mapping key and list item keeps its file, line and column.

YAML 1.2 core schema: ``yes``/``on`` are strings, ``0o17`` is octal. Anchors and
aliases work, merge keys (``<<``) too; an alias may not contain its own anchor,
and a document may not expand to more than ``MAX_NODES`` nodes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from _ruamel_yaml import CParser  # the C parser of ruamel.yaml.clib
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from ruamel.yaml.nodes import ScalarNode
from ruamel.yaml.resolver import Resolver

from reconciler.model.source import PathKey, Position
from reconciler.yamljson import json_documents

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"

# A document may not expand (through aliases) to more nodes than this: a few
# lines of anchors can otherwise stand for billions of nodes.
MAX_NODES = 250_000
MAX_DEPTH = 64


@dataclass
class YAMLProblem:
    line: int
    column: int
    message: str
    path: PathKey = ()
    """Where in the document the problem is (the mapping holding a bad key)."""


@dataclass
class ParsedDocument:
    index: int
    data: Any
    positions: dict[PathKey, Position]
    problems: list[YAMLProblem] = field(default_factory=list)


class YAMLSyntaxError(Exception):
    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


def _mark_message(exc: YAMLError) -> tuple[int, int, str]:
    if isinstance(exc, MarkedYAMLError) or hasattr(exc, "problem_mark"):
        problem_mark = getattr(exc, "problem_mark", None)
        context_mark = getattr(exc, "context_mark", None)
        mark = problem_mark or context_mark
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        message = f"{context}, {problem}" if context else str(problem)
        if (problem_mark is not None and context_mark is not None
                and context_mark.line != problem_mark.line):
            message += f" (it starts at line {context_mark.line + 1}, " \
                       f"column {context_mark.column + 1})"
        if mark is not None:
            return mark.line + 1, mark.column + 1, message
        return 1, 1, message
    return 1, 1, str(exc).splitlines()[0] if str(exc) else "invalid YAML"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _hint(message: str, text: str, line: int, column: int) -> str:
    lines = text.splitlines()
    char = lines[line - 1][column - 1:column] if 0 < line <= len(lines) else ""
    if "mapping values are not allowed" in message or "found unexpected ':'" in message:
        before = lines[line - 1][:column - 1] if 0 < line <= len(lines) else ""
        if ": " in before.strip():
            return message + " (quote a value that contains ': ')"
        above = next((x for x in reversed(lines[:line - 1]) if x.strip()), "")
        if _indent(before) > _indent(above) and not above.rstrip().endswith(":"):
            return message + (f" (line {line} is indented deeper than the line above, which "
                              "already has a value: align it with its siblings)")
        return message + " (check the indentation, or quote a value that contains ': ')"
    if "cannot start any token" in message and char == "\t":
        return "a tab character where YAML expects indentation: indent with spaces"
    if "cannot start any token" in message and char:
        return f"{char!r} cannot start a plain value: quote the value"
    return message


# -- scalars (YAML 1.2 core schema) -------------------------------------------

_RESOLVER = Resolver()


@functools.lru_cache(maxsize=8192)
def _plain(value: str) -> Any:
    """The value of a plain (unquoted, untagged) scalar, as ruamel's 1.2 resolver types it."""
    tag = str(_RESOLVER.resolve(ScalarNode, value, (True, False)))
    if tag == _STR:
        return value
    if tag == _NULL:
        return None
    if tag == _BOOL:
        return value.lower() == "true"
    if tag == _INT:
        return _int(value)
    if tag == _FLOAT:
        return _float(value)
    return value  # timestamps and the like stay text


def _int(value: str) -> int:
    text = value.replace("_", "")
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    if text.startswith("0o"):
        return sign * int(text[2:], 8)
    if text.startswith(("0x", "0b")):
        return sign * int(text, 0)
    return sign * int(text)


def _float(value: str) -> float:
    low = value.lower().replace("_", "")
    if low in (".inf", "+.inf"):
        return float("inf")
    if low == "-.inf":
        return float("-inf")
    if low == ".nan":
        return float("nan")
    return float(low)


def _tagged(tag: str, value: str, event: ScalarEvent) -> Any:
    """A scalar with an explicit tag such as ``!!int``."""
    try:
        if tag == _STR:
            return value
        if tag == _NULL:
            return None
        if tag == _BOOL:
            low = value.lower()
            if low in ("true", "yes", "on", "y"):
                return True
            if low in ("false", "no", "off", "n"):
                return False
            raise ValueError
        if tag == _INT:
            return _int(value)
        if tag == _FLOAT:
            return _float(value)
    except ValueError:
        what = {_BOOL: "true or false", _INT: "an integer", _FLOAT: "a number"}[tag]
        raise _error(event, f"{value!r} is not {what}") from None
    if tag in (_MAP, _SEQ):
        raise _error(event, f"{value!r} is not {'a mapping' if tag == _MAP else 'a list'}")
    # timestamps, binary and custom tags stay text: bosun never needs them typed
    return value


def _error(event: Any, message: str) -> YAMLSyntaxError:
    mark = event.start_mark
    return YAMLSyntaxError(mark.line + 1, mark.column + 1, message)


# -- building data from events ------------------------------------------------


class _Anchor:
    """What an anchor stands for: its value, its node count and its positions."""

    __slots__ = ("nodes", "path", "positions", "value")

    def __init__(self, path: PathKey) -> None:
        self.path = path
        self.value: Any = None
        self.nodes = -1  # -1 while the anchored node is still being read
        self.positions: list[tuple[PathKey, Position]] = []


class _Builder:
    """Plain data (and positions) from the events of one document."""

    def __init__(self, parser: Any, file: str, positions: bool) -> None:
        self.parser = parser
        self.file = file
        self.keep = positions
        self.positions: dict[PathKey, Position] = {}
        self.order: list[tuple[PathKey, Position]] = []  # while anchors are open
        self.open_anchors = 0
        self.problems: list[YAMLProblem] = []
        self.anchors: dict[str, _Anchor] = {}
        self.nodes = 0

    def record(self, path: PathKey, position: Position, replace: bool = True) -> None:
        if replace or path not in self.positions:
            self.positions[path] = position
            if self.open_anchors:
                self.order.append((path, position))

    def pos(self, event: Any) -> Position:
        mark = event.start_mark
        return Position(file=self.file, line=mark.line + 1, column=mark.column + 1)

    def count(self, event: Any, n: int = 1) -> None:
        self.nodes += n
        if self.nodes > MAX_NODES:
            raise _error(event, f"the document expands to more than {MAX_NODES} nodes "
                         "(aliases?)")

    def build(self, event: Any, path: PathKey, depth: int) -> Any:
        """The value of the node that starts with ``event``."""
        cls = type(event)
        if cls is ScalarEvent and event.anchor is None:  # most nodes: keep this path short
            self.nodes += 1
            if self.nodes > MAX_NODES:
                self.count(event, 0)
            tag = event.tag
            if tag is None:
                return _plain(event.value) if event.implicit[0] else event.value
            return event.value if tag == "!" else _tagged(tag, event.value, event)
        if depth > MAX_DEPTH:
            raise _error(event, "nesting is too deep")
        if cls is AliasEvent:
            return self.alias(event, path)
        anchor = None
        if event.anchor is not None:
            anchor = self.anchors[event.anchor] = _Anchor(path)
            self.open_anchors += 1
            start, recorded = self.nodes, len(self.order)
        self.count(event)
        if cls is ScalarEvent:
            tag = event.tag
            if tag is None:
                value = _plain(event.value) if event.implicit[0] else event.value
            else:
                value = event.value if tag == "!" else _tagged(tag, event.value, event)
        elif cls is SequenceStartEvent:
            value = self.sequence(path, depth)
        elif cls is MappingStartEvent:
            value = self.mapping(path, depth)
        else:  # pragma: no cover - the parser guarantees a node here
            raise _error(event, f"unexpected {cls.__name__}")
        if anchor is not None:
            self.open_anchors -= 1
            anchor.value = value
            anchor.nodes = self.nodes - start
            if self.keep:
                n = len(path)
                anchor.positions = [(p[n:], v) for p, v in self.order[recorded:]
                                    if p[:n] == path and len(p) > n]
            if not self.open_anchors:
                self.order.clear()
        return value

    def skip(self, event: Any, depth: int) -> None:
        """Read a node that the data leaves out (a complex key, a duplicate's value)."""
        keep, self.keep = self.keep, False
        try:
            self.build(event, (), depth)
        finally:
            self.keep = keep

    def alias(self, event: Any, path: PathKey) -> Any:
        name = event.anchor
        anchor = self.anchors.get(name)
        if anchor is None:
            raise _error(event, f"found undefined alias '*{name}' (no anchor '&{name}' "
                         "before it)")
        if anchor.nodes < 0:
            raise _error(event, f"alias '*{name}' is inside the node it refers to")
        self.count(event, anchor.nodes)
        if self.keep:
            for rel, position in anchor.positions:
                self.record((*path, *rel), position, replace=False)
        return _copy(anchor.value)

    def sequence(self, path: PathKey, depth: int) -> list[Any]:
        out: list[Any] = []
        get = self.parser.get_event
        i = 0
        while True:
            event = get()
            if type(event) is SequenceEndEvent:
                return out
            child = (*path, i)
            if self.keep:
                self.record(child, self.pos(event))
            out.append(self.build(event, child, depth + 1))
            i += 1

    def mapping(self, path: PathKey, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged: list[dict[str, Any]] = []
        own: dict[str, Any] = {}
        get = self.parser.get_event
        while True:
            key_event = get()
            cls = type(key_event)
            if cls is MappingEndEvent:
                break
            if cls is not ScalarEvent:
                self.skip(key_event, depth + 1)  # a complex key, and its value
                self.skip(get(), depth + 1)
                mark = key_event.start_mark
                self.problems.append(YAMLProblem(
                    mark.line + 1, mark.column + 1, "mapping keys must be plain text", path))
                continue
            if key_event.value == "<<" and key_event.tag is None and key_event.implicit[0]:
                # Merged keys are recorded at the positions they come from, under
                # this mapping's path; the mapping's own keys win (below).
                value = self.build(get(), path, depth + 1)
                sources = value if isinstance(value, list) else [value]
                merged.extend(m for m in sources if isinstance(m, dict))
                continue
            key = self.build(key_event, path, depth + 1)
            if not isinstance(key, str):
                key = str(key).lower() if isinstance(key, bool) else str(key)
            child = (*path, key)
            if key in own:
                first = own[key].start_mark
                mark = key_event.start_mark
                self.problems.append(YAMLProblem(
                    mark.line + 1, mark.column + 1,
                    f"duplicate key (first at line {first.line + 1}, column {first.column + 1})",
                    child))
                self.skip(get(), depth + 1)
                continue
            own[key] = key_event
            if self.keep:
                self.record(child, self.pos(key_event))
            out[key] = self.build(get(), child, depth + 1)
        if merged:
            for source in merged:
                for key, value in source.items():
                    if key not in out:
                        out[key] = value
            if self.keep:
                for key, key_event in own.items():
                    self.record((*path, key), self.pos(key_event))
        return out


def _copy(value: Any) -> Any:
    """A fresh copy of aliased data, so that later changes stay local."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def parse_documents(text: str, file: str, positions: bool = True) -> list[ParsedDocument]:
    """Every document of ``text``; raises ``YAMLSyntaxError`` on broken YAML.

    ``positions=False`` skips recording where each node is (only the document's
    start is kept): for files read often and rarely wrong, such as compose files.
    Without positions, a stream of JSON objects is read by ``yamljson``.

    The C parser carries libyaml 0.1's scanner, which refuses a ``:`` inside a
    plain scalar of a flow collection (``volumes: [data:/data]``), valid YAML
    (1.1 and 1.2: spec example 7.10) that Compose reads. Text the C parser
    refuses is read again by ruamel.yaml's pure-Python parser; when that one
    refuses it too, the C parser's message is the one reported.
    """
    if not positions:
        found = json_documents(text, MAX_DEPTH, MAX_NODES)
        if found is not None:
            return [ParsedDocument(index, data, {(): Position(file=file, line=line,
                                                              column=column)})
                    for index, data, line, column in found]
    try:
        return _parse(CParser(text), text, file, positions)
    except YAMLSyntaxError as refused:
        try:
            return _parse(_pure_parser(text), text, file, positions)
        except Exception:  # only a second chance: any failure of it is the refusal
            raise refused from None


def _pure_parser(text: str) -> Any:
    """ruamel.yaml's pure-Python event parser (the same events as the C parser's)."""
    from ruamel.yaml.main import YAML

    return YAML(typ="safe", pure=True).get_constructor_parser(text)[1]


def _parse(parser: Any, text: str, file: str, positions: bool) -> list[ParsedDocument]:
    docs: list[ParsedDocument] = []
    try:
        parser.get_event()  # stream start
        index = 0
        while type(parser.peek_event()) is not StreamEndEvent:
            start = parser.get_event()
            if type(start) is not DocumentStartEvent:  # pragma: no cover
                raise _error(start, "expected a document")
            builder = _Builder(parser, file, positions)
            first = parser.peek_event()
            empty = type(first) is ScalarEvent and first.value == "" and first.tag is None \
                and first.implicit[0] and first.anchor is None
            root_position = builder.pos(first)
            data = builder.build(parser.get_event(), (), 0)
            if type(parser.get_event()) is not DocumentEndEvent:  # pragma: no cover
                raise _error(first, "expected the end of the document")
            if not empty:
                builder.record((), root_position)
                docs.append(ParsedDocument(index, data, builder.positions, builder.problems))
            index += 1
    except YAMLError as exc:
        line, column, message = _mark_message(exc)
        raise YAMLSyntaxError(line, column, _hint(message, text, line, column)) from None
    except RecursionError:
        raise YAMLSyntaxError(1, 1, "nesting is too deep") from None
    finally:
        parser.dispose()
    return docs


class Reparse:
    """The positions of a file's documents, read again on demand.

    Files are parsed first without positions (a third faster); when a problem
    needs to point into a document, the file is parsed once more, with them.
    """

    def __init__(self, text: str, file: str) -> None:
        self.text = text
        self.file = file
        self._docs: dict[int, dict[PathKey, Position]] | None = None

    def positions(self, index: int) -> dict[PathKey, Position]:
        if self._docs is None:
            try:
                self._docs = {d.index: d.positions
                              for d in parse_documents(self.text, self.file)}
            except YAMLSyntaxError:  # cannot happen: the same text parsed before
                self._docs = {}
        return self._docs.get(index, {})

    def deferred(self, index: int) -> Callable[[], dict[PathKey, Position]]:
        return functools.partial(self.positions, index)
