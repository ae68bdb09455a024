"""Stage *load*: read every manifest under the configured paths.

source -> **load** -> validate -> resolve -> ...

Reads ``bosun.yaml`` (a ``Repository`` document) at the root for the paths to
read, then every ``*.yaml``/``*.yml`` under them. Documents whose ``apiVersion``
is not ``bosun/v1`` are ignored; a ``bosun/v1`` document with an unknown kind is
a problem. The result carries every node's file, line and column.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.errors import Problem
from reconciler.model.common import API_VERSION, Kind
from reconciler.model.source import Position, RawDocument
from reconciler.yamlnodes import YAMLSyntaxError, parse_documents

REPOSITORY_FILES = ("bosun.yaml", "bosun.yml")
SKIP_DIRS = {".git", ".bosun", ".venv", "node_modules", "__pycache__"}
MAX_FILE_BYTES = 8 * 1024 * 1024
_KIND_NAMES = ", ".join(k.value for k in Kind)


@dataclass
class LoadResult:
    documents: list[RawDocument] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    repository: RawDocument | None = None


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _syntax_problem(file: str, exc: YAMLSyntaxError) -> Problem:
    return Problem(
        f"invalid YAML: {exc.message}",
        Position(file=file, line=exc.line, column=exc.column),
        ref="yaml",
    )


def read_yaml_file(root: Path, path: Path) -> tuple[list[RawDocument], list[Problem]]:
    """All documents of one YAML file, as raw documents with positions."""
    rel = _rel(root, path)
    start = Position(file=rel, line=1, column=1)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return [], [Problem(f"file is larger than {MAX_FILE_BYTES} bytes", start, "file")]
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return [], [Problem("file is not UTF-8 text", start, "file")]
    except OSError as exc:
        return [], [Problem(f"cannot read file: {exc.strerror}", start, "file")]
    try:
        parsed = parse_documents(text, rel)
    except YAMLSyntaxError as exc:
        return [], [_syntax_problem(rel, exc)]
    docs: list[RawDocument] = []
    problems: list[Problem] = []
    for p in parsed:
        for yp in p.problems:
            problems.append(
                Problem(yp.message, Position(file=rel, line=yp.line, column=yp.column), "yaml")
            )
        docs.append(RawDocument(file=rel, index=p.index, data=p.data, positions=p.positions))
    return docs, problems


def _is_candidate(text_head: bytes) -> bool:
    return b"bosun/" in text_head


def _walk(root: Path, base: Path, exclude: list[str]) -> list[Path]:
    found: list[Path] = []
    if base.is_file():
        return [base]
    for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if not name.endswith((".yaml", ".yml")):
                continue
            path = Path(dirpath) / name
            rel = _rel(root, path)
            if any(fnmatch.fnmatch(rel, pat) for pat in exclude):
                continue
            found.append(path)
    return found


def _classify(doc: RawDocument, problems: list[Problem]) -> bool:
    """True when ``doc`` is a bosun document with a known kind."""
    data: Any = doc.data
    if not isinstance(data, dict):
        return False
    api = data.get("apiVersion")
    if not isinstance(api, str) or not api.startswith("bosun/"):
        return False
    if api != API_VERSION:
        problems.append(
            Problem(
                f"unsupported apiVersion {api!r} (this bosun reads {API_VERSION})",
                doc.position_of(("apiVersion",)),
                ref="document",
                field="apiVersion",
            )
        )
        return False
    kind = data.get("kind")
    name = data.get("metadata", {}).get("name") if isinstance(data.get("metadata"), dict) else None
    label = f"{kind}/{name}" if isinstance(kind, str) and isinstance(name, str) else "document"
    if kind is None:
        problems.append(Problem("missing 'kind'", doc.start, ref=label, field="kind"))
        return False
    if not isinstance(kind, str) or kind not in Kind.__members__.values():
        problems.append(
            Problem(
                f"unknown kind {kind!r} (known kinds: {_KIND_NAMES})",
                doc.position_of(("kind",)),
                ref=label,
                field="kind",
            )
        )
        return False
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
        docs, problems = read_yaml_file(root, repo_file)
        result.problems.extend(problems)
        result.files.append(_rel(root, repo_file))
        for doc in docs:
            if not _classify(doc, result.problems):
                continue
            if doc.data.get("kind") != Kind.REPOSITORY.value:
                result.documents.append(doc)
                continue
            if result.repository is not None:
                result.problems.append(
                    Problem("only one Repository document is allowed", doc.start, "Repository")
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

    seen: set[Path] = set()
    if repo_file is not None:
        seen.add(repo_file)
    for entry in paths:
        base = (root / entry).resolve()
        if not base.is_relative_to(root):
            pos = result.repository.position_of(("spec", "paths")) if result.repository else None
            result.problems.append(
                Problem(f"path {entry!r} is outside the repository", pos, "Repository",
                        "spec.paths")
            )
            continue
        if not base.exists():
            pos = result.repository.position_of(("spec", "paths")) if result.repository else None
            result.problems.append(
                Problem(f"path {entry!r} does not exist", pos, "Repository", "spec.paths")
            )
            continue
        for path in _walk(root, base, exclude):
            if path in seen:
                continue
            seen.add(path)
            try:
                with path.open("rb") as fh:
                    head = fh.read(MAX_FILE_BYTES)
            except OSError as exc:
                pos = Position(file=_rel(root, path), line=1, column=1)
                result.problems.append(Problem(f"cannot read file: {exc.strerror}", pos, "file"))
                continue
            if not _is_candidate(head):
                continue  # compose files and other YAML: read when referenced
            result.files.append(_rel(root, path))
            docs, problems = read_yaml_file(root, path)
            result.problems.extend(problems)
            for doc in docs:
                if not _classify(doc, result.problems):
                    continue
                if doc.data.get("kind") == Kind.REPOSITORY.value:
                    result.problems.append(
                        Problem(
                            "a Repository document belongs in bosun.yaml at the repository root",
                            doc.position_of(("kind",)),
                            "Repository",
                        )
                    )
                    continue
                result.documents.append(doc)
    return result
