"""The built-in policy library (``policies/``), read when first looked at.

Part of the policy stage (see ``reconciler.policy``). The files are parsed when
the library is made, but their Policy documents are checked (each rule's
``deny`` against the JSON Schema metaschema, which needs jsonschema: 40 ms of
a command's start) only when they are used. What kinds they look at is read
from the parsed files, so that the stage can tell, without the documents,
that none of them can judge a repository (a DNS-only repository, say).
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Sequence
from typing import Any, overload

from reconciler.model.common import Kind
from reconciler.model.desired import DesiredState
from reconciler.model.kinds import Policy
from reconciler.yamlnodes import YAMLSyntaxError, parse_documents

BUILTIN_PACKAGE = "policies"


class BuiltinLibrary(Sequence[Policy]):
    """The built-in policies, sorted by file name; a sequence of ``Policy``."""

    def __init__(self, package: str = BUILTIN_PACKAGE) -> None:
        self._raw: list[Any] = []
        folder = importlib.resources.files(package)
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith((".yaml", ".yml")):
                continue
            try:
                docs = parse_documents(entry.read_text(encoding="utf-8"), entry.name,
                                       positions=False)
            except YAMLSyntaxError as exc:  # a packaging bug, not the user's
                raise RuntimeError(f"built-in policy {entry.name}: {exc.message}") from None
            self._raw.extend(doc.data for doc in docs)
        self._policies: list[Policy] | None = None

    def _checked(self) -> list[Policy]:
        if self._policies is None:
            self._policies = [Policy.model_validate(data) for data in self._raw]
        return self._policies

    def __len__(self) -> int:
        return len(self._raw)

    @overload
    def __getitem__(self, index: int) -> Policy: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Policy]: ...

    def __getitem__(self, index: int | slice) -> Policy | Sequence[Policy]:
        return self._checked()[index]

    def kinds(self) -> frozenset[str] | None:
        """The kinds the policies look at, as written; None when one looks at every kind."""
        out: set[str] = set()
        for data in self._raw:
            spec = data.get("spec") if isinstance(data, dict) else None
            match = spec.get("match") if isinstance(spec, dict) else None
            kinds = match.get("kinds") if isinstance(match, dict) else None
            if not isinstance(kinds, list) or not kinds:
                return None
            out.update(str(k) for k in kinds)
        return frozenset(out)

    def judges_none_of(self, desired: DesiredState) -> bool:
        """True when no policy of the library looks at any resource of ``desired``."""
        kinds = self.kinds()
        if kinds is None:
            return False
        return not any(
            res.ref.kind.value in kinds for res in desired.resources
            if res.ref.kind not in (Kind.POLICY, Kind.REPOSITORY)
        )


def builtin_library() -> BuiltinLibrary:
    """The built-in policies shipped in ``policies/`` (sorted by file name)."""
    return BuiltinLibrary()
