"""YAML to plain data, keeping the position of every node.

Used by the load and resolve stages (manifests and compose files). Parsing uses
ruamel.yaml's C parser when it is installed: composing nodes ourselves keeps
positions at a fraction of the cost of the round-trip loader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml.cyaml import CSafeLoader as _Loader  # the C parser: ruamel.yaml.clib
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.model.source import PathKey, Position

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"


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


# A document may not expand (through aliases) to more nodes than this: a few
# lines of anchors can otherwise stand for billions of nodes.
MAX_NODES = 250_000


def _bad_scalar(node: ScalarNode, what: str) -> YAMLSyntaxError:
    mark = node.start_mark
    return YAMLSyntaxError(mark.line + 1, mark.column + 1, f"{node.value!r} is not {what}")


def _scalar(node: ScalarNode) -> Any:
    tag = node.tag
    value: str = node.value
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
        raise _bad_scalar(node, "true or false")
    if tag == _INT:
        text = value.replace("_", "")
        sign = -1 if text.startswith("-") else 1
        text = text.lstrip("+-")
        try:
            if text.startswith("0o"):
                return sign * int(text[2:], 8)
            if text.startswith(("0x", "0b")):
                return sign * int(text, 0)
            return sign * int(text)
        except ValueError:
            raise _bad_scalar(node, "an integer") from None
    if tag == _FLOAT:
        low = value.lower().replace("_", "")
        if low in (".inf", "+.inf"):
            return float("inf")
        if low == "-.inf":
            return float("-inf")
        if low == ".nan":
            return float("nan")
        try:
            return float(low)
        except ValueError:
            raise _bad_scalar(node, "a number") from None
    if tag in (_MAP, _SEQ):
        raise _bad_scalar(node, "a mapping" if tag == _MAP else "a list")
    # timestamps, binary and custom tags stay text: bosun never needs them typed
    return value


class _Converter:
    def __init__(self, file: str) -> None:
        self.file = file
        self.positions: dict[PathKey, Position] = {}
        self.problems: list[YAMLProblem] = []
        self.nodes = 0

    def pos(self, node: Node) -> Position:
        mark = node.start_mark
        return Position(file=self.file, line=mark.line + 1, column=mark.column + 1)

    def convert(self, node: Node, path: PathKey, depth: int = 0) -> Any:
        if depth > 64:
            raise YAMLSyntaxError(
                node.start_mark.line + 1, node.start_mark.column + 1, "nesting is too deep"
            )
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise YAMLSyntaxError(
                node.start_mark.line + 1, node.start_mark.column + 1,
                f"the document expands to more than {MAX_NODES} nodes (aliases?)",
            )
        if isinstance(node, ScalarNode):
            return _scalar(node)
        if isinstance(node, SequenceNode):
            out: list[Any] = []
            for i, item in enumerate(node.value):
                self.positions.setdefault((*path, i), self.pos(item))
                out.append(self.convert(item, (*path, i), depth + 1))
            return out
        if isinstance(node, MappingNode):
            return self._mapping(node, path, depth)
        return None

    def _merge_sources(self, value: Node) -> list[MappingNode]:
        if isinstance(value, MappingNode):
            return [value]
        if isinstance(value, SequenceNode):
            return [v for v in value.value if isinstance(v, MappingNode)]
        return []

    def _mapping(self, node: MappingNode, path: PathKey, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                for source in self._merge_sources(value_node):
                    for k, v in self._mapping(source, path, depth + 1).items():
                        merged.setdefault(k, v)
                continue
            if not isinstance(key_node, ScalarNode):
                mark = key_node.start_mark
                self.problems.append(YAMLProblem(
                    mark.line + 1, mark.column + 1, "mapping keys must be plain text", path))
                continue
            key = _scalar(key_node)
            key = key if isinstance(key, str) else str(key).lower() if isinstance(key, bool) \
                else str(key)
            if key in out:
                mark = key_node.start_mark
                first = self.positions.get((*path, key))
                where = f" (first at line {first.line}, column {first.column})" if first else ""
                self.problems.append(YAMLProblem(
                    mark.line + 1, mark.column + 1, f"duplicate key{where}", (*path, key)))
                continue
            child = (*path, key)
            self.positions[child] = self.pos(key_node)
            out[key] = self.convert(value_node, child, depth + 1)
        for k, v in merged.items():
            out.setdefault(k, v)
        return out


def parse_documents(text: str, file: str) -> list[ParsedDocument]:
    """Every document of ``text``; raises ``YAMLSyntaxError`` on broken YAML."""
    loader = _Loader(text)
    docs: list[ParsedDocument] = []
    try:
        index = 0
        while loader.check_node():
            node = loader.get_node()
            conv = _Converter(file)
            if node is None:
                index += 1
                continue
            conv.positions[()] = conv.pos(node)
            data = conv.convert(node, ())
            docs.append(ParsedDocument(index, data, conv.positions, conv.problems))
            index += 1
    except YAMLError as exc:
        line, column, message = _mark_message(exc)
        lines = text.splitlines()
        char = lines[line - 1][column - 1:column] if 0 < line <= len(lines) else ""
        if "mapping values are not allowed" in message or "found unexpected ':'" in message:
            message += " (quote a value that contains ': ')"
        elif "cannot start any token" in message and char == "\t":
            message = "a tab character where YAML expects indentation: indent with spaces"
        elif "cannot start any token" in message and char:
            message = f"{char!r} cannot start a plain value: quote the value"
        if message.endswith("undefined alias"):
            lines = text.splitlines()
            if 0 < line <= len(lines):
                word = lines[line - 1][column - 1:].split()[0].rstrip(",]}") if \
                    lines[line - 1][column - 1:].strip() else ""
                message += f" {word!r} (no anchor '&{word.lstrip('*')}' before it)"
        raise YAMLSyntaxError(line, column, message) from None
    except RecursionError:
        raise YAMLSyntaxError(1, 1, "nesting is too deep") from None
    finally:
        loader.dispose()
    return docs
