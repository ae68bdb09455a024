"""Compose files that stacks name: read, merged naively, kept inside the repository.

Part of stage *resolve* (see ``reconciler.resolve``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from reconciler.documents import Validated, format_path
from reconciler.errors import Problem
from reconciler.model.desired import ComposeSource
from reconciler.model.kinds import Stack
from reconciler.model.source import PathKey, Position, RawDocument
from reconciler.resolve.context import Context, inside
from reconciler.yamlnodes import Reparse, YAMLSyntaxError, parse_documents


def _merge_compose(raws: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for raw in raws:
        for key, value in raw.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                section = dict(merged[key])
                for name, body in value.items():
                    if isinstance(body, dict) and isinstance(section.get(name), dict):
                        section[name] = {**section[name], **body}
                    else:
                        section[name] = body
                merged[key] = section
            else:
                merged[key] = value
    return merged


MAX_INCLUDE_DEPTH = 4


def _read(ctx: Context, item: Validated, path: Path,
          fail: Callable[[str], None]) -> RawDocument | None:
    """The first document of a compose file, its problems reported; None when unusable."""
    file_rel = path.relative_to(ctx.root).as_posix()
    try:
        text = path.read_text(encoding="utf-8")
        docs = parse_documents(text, file_rel, positions=False)
    except YAMLSyntaxError as exc:
        ctx.problems.append(Problem(f"invalid YAML: {exc.message}",
                                    Position(file=file_rel, line=exc.line, column=exc.column),
                                    ref=str(item.ref)))
        return None
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"cannot read compose file {file_rel!r}: {exc}")
        return None
    data = docs[0].data if docs else None
    if not isinstance(data, dict) or not isinstance(data.get("services", {}), dict):
        fail(f"{file_rel!r} is not a compose file (no 'services' mapping)")
        return None
    for problem in docs[0].problems:
        ctx.problems.append(Problem(
            problem.message, Position(file=file_rel, line=problem.line, column=problem.column),
            ref=str(item.ref), field=format_path(problem.path) or None))
    return RawDocument.deferred(file_rel, 0, data, docs[0].positions[()],
                                Reparse(text, file_rel).deferred(0))


def _existing_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:
        return False


class _Paths:
    """Checks the paths one compose mapping names; collects the services it includes."""

    def __init__(self, ctx: Context, item: Validated, where: RawDocument, prefix: PathKey):
        self.ctx, self.item, self.where, self.prefix = ctx, item, where, prefix
        self.included: list[dict[str, Any]] = []

    def report(self, path: PathKey, message: str) -> None:
        full = (*self.prefix, *path)
        self.ctx.problems.append(Problem(message, self.where.position_of(full),
                                         ref=str(self.item.ref), field=format_path(full)))

    def check(self, rel: Any, base: str, path: PathKey, what: str) -> Path | None:
        if not isinstance(rel, str):
            return None
        found, err = inside(self.ctx, base, rel)
        if err:
            self.report(path, f"{what} {err}")
        return found

    def run(self, model: dict[str, Any], project_dir: str, file_dir: str, depth: int) -> None:
        """``project_dir`` resolves service paths; ``file_dir`` is the mapping's own folder."""
        services = model.get("services")
        for name, svc in (services.items() if isinstance(services, dict) else ()):
            if not isinstance(svc, dict):
                continue
            build = svc.get("build")
            context = build if isinstance(build, str) else (
                build.get("context", ".") if isinstance(build, dict) else None
            )
            if isinstance(context, str) and "://" not in context \
                    and not context.startswith("git@"):
                at: PathKey = ("build",) if isinstance(build, str) else ("build", "context")
                self.check(context, project_dir, ("services", name, *at), "build context")
            env_files = svc.get("env_file")
            files = [env_files] if isinstance(env_files, str) else env_files
            for i, entry in enumerate(files if isinstance(files, list) else []):
                rel = entry.get("path") if isinstance(entry, dict) else entry
                at = ("env_file",) if isinstance(env_files, str) else ("env_file", i)
                self.check(rel, project_dir, ("services", name, *at), "env_file")
            extends = svc.get("extends")
            if isinstance(extends, dict):
                self.check(extends.get("file"), file_dir, ("services", name, "extends", "file"),
                           "extends file")
        include = model.get("include")
        for i, entry in enumerate(include if isinstance(include, list) else []):
            paths = entry.get("path") if isinstance(entry, dict) else entry
            listed = paths if isinstance(paths, list) else [paths]
            for j, rel in enumerate(listed):
                at = ("include", i) if not isinstance(entry, dict) else \
                    ("include", i, "path", j) if isinstance(paths, list) else ("include", i, "path")
                found = self.check(rel, file_dir, at, "include")
                if found is None or depth >= MAX_INCLUDE_DEPTH:
                    continue
                if not _existing_file(found):
                    self.report(at, f"included file {rel!r} does not exist")
                    continue
                doc = _read(self.ctx, self.item, found, functools.partial(self.report, at))
                if doc is None:
                    continue
                # An included file is a project of its own: its folder resolves its paths.
                folder = found.parent.relative_to(self.ctx.root).as_posix()
                folder = "" if folder == "." else folder
                nested = _Paths(self.ctx, self.item, doc, ())
                nested.run(doc.data, folder, folder, depth + 1)
                self.included.extend([*nested.included, doc.data])


def resolve_compose(ctx: Context, item: Validated, stack: Stack) -> None:
    compose = stack.spec.compose
    manifest_dir = item.raw.file.rpartition("/")[0]
    if isinstance(compose, dict):
        checker = _Paths(ctx, item, item.raw, ("spec", "compose"))
        checker.run(compose, manifest_dir, manifest_dir, 0)
        ctx.compose[stack.name] = ComposeSource(
            project_dir=str(ctx.root / manifest_dir),
            model=_merge_compose([*checker.included, compose]), raw=(compose,),
        )
        return
    names = [compose] if isinstance(compose, str) else compose
    files: list[Path] = []
    docs: list[RawDocument] = []
    for i, rel in enumerate(names):
        field_path: PathKey = ("spec", "compose") if isinstance(compose, str) \
            else ("spec", "compose", i)
        path, err = inside(ctx, manifest_dir, rel)
        if err or path is None:
            ctx.add(item, field_path, err or "bad path")
            continue
        if not _existing_file(path):
            ctx.add(item, field_path, f"compose file {rel!r} does not exist")
            continue
        doc = _read(ctx, item, path, functools.partial(ctx.add, item, field_path))
        if doc is not None:
            files.append(path)
            docs.append(doc)
    if not files or len(files) != len(names):
        return
    # Compose resolves the relative paths of every file against the project
    # directory, the folder of the first file; extends and include, against
    # the folder of the file that names them.
    project_rel = files[0].parent.relative_to(ctx.root).as_posix()
    project_rel = "" if project_rel == "." else project_rel
    included: list[dict[str, Any]] = []
    for path, doc in zip(files, docs, strict=True):
        checker = _Paths(ctx, item, doc, ())
        own = path.parent.relative_to(ctx.root).as_posix()
        checker.run(doc.data, project_rel, "" if own == "." else own, 0)
        included.extend(checker.included)
    raws = [doc.data for doc in docs]
    model = _merge_compose([*included, *raws])
    if not model.get("services"):
        ctx.add(item, ("spec", "compose"), "the compose model defines no services")
    ctx.compose[stack.name] = ComposeSource(
        project_dir=str(files[0].parent), files=tuple(str(f) for f in files), model=model,
        raw=tuple(raws),
    )
