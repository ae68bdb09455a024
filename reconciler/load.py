"""Stage *load*: read every manifest under the configured paths.

source -> **load** -> validate -> resolve -> ...

Reads ``bosun.yaml`` (a ``Repository`` document) at the root for the paths to
read, then every ``*.yaml``/``*.yml`` under them. Documents whose ``apiVersion``
is not ``bosun/v1`` are ignored; a ``bosun/v1`` document with an unknown kind is
a problem. The result carries every node's file, line and column.
"""

from __future__ import annotations

import difflib
import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from reconciler.documents import doc_label, format_path
from reconciler.errors import Problem
from reconciler.model.common import API_VERSION, Kind
from reconciler.model.source import Position, RawDocument
from reconciler.yamlnodes import Reparse, YAMLSyntaxError, parse_documents

REPOSITORY_FILES = ("bosun.yaml", "bosun.yml")
SKIP_DIRS = {".git", ".bosun", ".venv", "node_modules", "__pycache__"}
MAX_FILE_BYTES = 8 * 1024 * 1024
_KINDS = {k.value for k in Kind}
_KIND_NAMES = ", ".join(k.value for k in Kind)


@dataclass
class LoadResult:
    documents: list[RawDocument] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    repository: RawDocument | None = None
    broken_files: list[str] = field(default_factory=list)
    """Files that could not be read or parsed: the documents they hold are unknown."""
    rejected: list[RawDocument] = field(default_factory=list)
    """bosun documents set aside with a problem (unsupported apiVersion, misplaced kind)."""


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _syntax_problem(file: str, exc: YAMLSyntaxError) -> Problem:
    return Problem(
        f"invalid YAML: {exc.message}", Position(file=file, line=exc.line, column=exc.column)
    )


def read_yaml_file(
    root: Path, path: Path, content: bytes | None = None
) -> tuple[list[RawDocument], list[Problem]]:
    """All documents of one YAML file (or of ``content`` read from it), with positions."""
    rel = _rel(root, path)
    start = Position(file=rel, line=1, column=1)
    try:
        if content is None:
            if path.stat().st_size > MAX_FILE_BYTES:
                return [], [Problem(f"file is larger than {MAX_FILE_BYTES} bytes", start)]
            content = path.read_bytes()
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [], [Problem(f"file is not UTF-8 text (byte {exc.start})", start)]
    except OSError as exc:
        return [], [Problem(f"cannot read file: {exc.strerror}", start)]
    try:
        parsed = parse_documents(text, rel, positions=False)
    except YAMLSyntaxError as exc:
        return [], [_syntax_problem(rel, exc)]
    docs: list[RawDocument] = []
    problems: list[Problem] = []
    reparse = Reparse(text, rel)
    for p in parsed:
        doc = RawDocument.deferred(rel, p.index, p.data, p.positions[()],
                                   reparse.deferred(p.index))
        bosun_doc = isinstance(p.data, dict) and isinstance(p.data.get("kind"), str)
        for yp in p.problems:
            problems.append(Problem(
                yp.message, Position(file=rel, line=yp.line, column=yp.column),
                doc_label(doc) if bosun_doc else None, format_path(yp.path) or None,
            ))
        docs.append(doc)
    return docs, problems


def _is_candidate(text_head: bytes) -> bool:
    return b"bosun/" in text_head


class _Found(NamedTuple):
    path: Path
    rel: str
    link: bool
    regular: bool


def _walk(root: Path, base: Path, exclude: list[str]) -> list[_Found]:
    """YAML files under ``base``, sorted, with what ``os.scandir`` already knows of them."""
    prefix = str(root).rstrip(os.sep) + os.sep
    if base.is_file():
        return [_Found(base, _rel(root, base), base.is_symlink(), True)]
    found: list[_Found] = []

    def visit(folder: str) -> None:
        try:
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            return
        folders: list[str] = []  # a folder's own files come before its sub-folders'
        for entry in entries:
            name = entry.name
            try:
                link = entry.is_symlink()
                if entry.is_dir(follow_symlinks=False):
                    if name not in SKIP_DIRS and not name.startswith("."):
                        folders.append(entry.path)
                    continue
                if not name.endswith((".yaml", ".yml")):
                    continue
                regular = entry.is_file()
            except OSError:
                continue
            rel = entry.path[len(prefix):].replace(os.sep, "/")
            if exclude and any(fnmatch.fnmatch(rel, pat) for pat in exclude):
                continue
            found.append(_Found(Path(entry.path), rel, link, regular))
        for sub in folders:
            visit(sub)

    visit(str(base))
    return found


def _classify(doc: RawDocument, result: LoadResult) -> bool:
    """True when ``doc`` is a bosun document with a known kind."""
    problems = result.problems
    data: Any = doc.data
    if not isinstance(data, dict):
        return False
    api = data.get("apiVersion")
    if not isinstance(api, str) or not api.startswith("bosun/"):
        return False
    kind = data.get("kind")
    label = doc_label(doc)
    if api != API_VERSION:
        problems.append(
            Problem(
                f"unsupported apiVersion {api!r} (this bosun reads {API_VERSION})",
                doc.position_of(("apiVersion",)),
                ref=label,
                field="apiVersion",
            )
        )
        result.rejected.append(doc)
        return False
    if kind is None:
        problems.append(Problem("required field is missing", doc.start, ref=label,
                                field="kind"))
        return False
    if not isinstance(kind, str):
        problems.append(Problem(f"must be the name of a kind ({_KIND_NAMES})",
                                doc.position_of(("kind",)), ref=label, field="kind"))
        return False
    if kind not in _KINDS:
        close = difflib.get_close_matches(str(kind), list(_KINDS), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known kinds: {_KIND_NAMES}"
        problems.append(
            Problem(
                f"unknown kind {kind!r} ({hint})",
                doc.position_of(("kind",)),
                ref=label,
                field="kind",
            )
        )
        return False
    return True


def _read_into(result: LoadResult, root: Path, path: Path,
               content: bytes | None = None) -> list[RawDocument]:
    """Read one file's documents, recording its problems (and whether it was lost)."""
    docs, problems = read_yaml_file(root, path, content)
    result.problems.extend(problems)
    if not docs and problems:
        result.broken_files.append(_rel(root, path))
    return docs


def _outside(root: Path, path: Path) -> bool:
    try:
        return not path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a symlink loop
        return True


def load(root: Path) -> LoadResult:
    """Read the repository at ``root``. Problems are collected, never raised."""
    root = root.resolve()
    result = LoadResult()
    if not root.is_dir():
        result.problems.append(Problem(f"{root} is not a folder", ref="repository"))
        return result

    paths: list[str] = ["."]
    exclude: list[str] = []
    repo_file = next((root / n for n in REPOSITORY_FILES if (root / n).is_file()), None)
    if repo_file is not None:
        result.files.append(_rel(root, repo_file))
        for doc in _read_into(result, root, repo_file):
            if not _classify(doc, result):
                continue
            if doc.data.get("kind") != Kind.REPOSITORY.value:
                result.documents.append(doc)
                continue
            if result.repository is not None:
                result.problems.append(
                    Problem("only one Repository document is allowed",
                            doc.position_of(("kind",)), doc_label(doc), "kind")
                )
                continue
            result.repository = doc
            spec = doc.data.get("spec")
            if isinstance(spec, dict):
                if isinstance(spec.get("paths"), list) and all(
                    isinstance(p, str) for p in spec["paths"]
                ):
                    paths = spec["paths"] or ["."]
                if isinstance(spec.get("exclude"), list):
                    exclude = [p for p in spec["exclude"] if isinstance(p, str)]

    seen: set[str] = set()
    if repo_file is not None:
        seen.add(_rel(root, repo_file))
    for i, entry in enumerate(paths):
        where = result.repository.position_of(("spec", "paths", i)) if result.repository \
            else None
        label = doc_label(result.repository) if result.repository else "Repository"
        field_name = f"spec.paths[{i}]"
        if "\0" in entry:
            result.problems.append(Problem(f"path {entry!r} contains a NUL character", where,
                                           label, field_name))
            continue
        base = root / entry
        if Path(entry).is_absolute() or _outside(root, base):
            result.problems.append(
                Problem(f"path {entry!r} is outside the repository", where, label, field_name)
            )
            continue
        base = base.resolve()
        if not base.exists():
            result.problems.append(
                Problem(f"path {entry!r} does not exist", where, label, field_name)
            )
            continue
        for path, rel, link, regular in _walk(root, base, exclude):
            if rel in seen:
                continue
            seen.add(rel)
            if link and _outside(root, path):
                result.problems.append(Problem(
                    "is a symlink that leads outside the repository; not read",
                    Position(file=rel, line=1, column=1)))
                result.broken_files.append(rel)
                continue
            if not regular:
                continue  # a FIFO or a socket named *.yaml: opening it could block
            try:
                with open(path, "rb") as fh:  # noqa: PTH123
                    head = fh.read(MAX_FILE_BYTES + 1)
            except OSError as exc:
                result.problems.append(Problem(f"cannot read file: {exc.strerror}",
                                               Position(file=rel, line=1, column=1)))
                result.broken_files.append(rel)
                continue
            if not _is_candidate(head):
                continue  # compose files and other YAML: read when referenced
            result.files.append(rel)
            content = head if len(head) <= MAX_FILE_BYTES else None  # None: too large
            for doc in _read_into(result, root, path, content):
                if not _classify(doc, result):
                    continue
                if doc.data.get("kind") == Kind.REPOSITORY.value:
                    result.problems.append(
                        Problem(
                            "a Repository document belongs in bosun.yaml at the repository root",
                            doc.position_of(("kind",)),
                            doc_label(doc),
                            "kind",
                        )
                    )
                    result.rejected.append(doc)
                    continue
                result.documents.append(doc)
    return result
