"""Find a secret value at rest: in any file of a folder and in every row of its SQLite files.

Used by the tests that prove bosun scrubs what it stores, not only what it
shows. A value is looked for as it is, JSON-escaped (with and without
``ensure_ascii``) and in every text column of every table; Git objects
(compressed) are read through pygit2.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pygit2


def _forms(value: str) -> set[bytes]:
    forms = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
    return {f.encode() for f in forms}


def _git_texts(folder: Path) -> list[tuple[str, bytes]]:
    try:
        repo = pygit2.Repository(str(folder))
    except pygit2.GitError:
        return []
    out = []
    for oid in repo.odb:
        obj = repo.odb.read(oid)
        out.append((f"{folder} object {oid}", bytes(obj[1])))
    return out


def _rows(path: Path) -> list[tuple[str, bytes]]:
    out: list[tuple[str, bytes]] = []
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return out
    try:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                text = "\x00".join(str(v) for v in row if v is not None)
                out.append((f"{path} table {table}", text.encode()))
    except sqlite3.DatabaseError:
        pass
    finally:
        db.close()
    return out


def leaks(folder: Path, value: str) -> list[str]:
    """Where ``value`` is found under ``folder`` (empty: nowhere)."""
    forms = _forms(value)
    found: list[str] = []
    items: list[tuple[str, bytes]] = []
    for path in sorted(folder.rglob("*")):
        if path.is_dir():
            if (path / "objects").is_dir() and (path / "HEAD").is_file():
                items.extend(_git_texts(path))
            continue
        if not path.is_file():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        items.append((str(path), data))
        if data.startswith(b"SQLite format 3"):
            items.extend(_rows(path))
    for where, data in items:
        if any(f in data for f in forms):
            found.append(where)
    return found
