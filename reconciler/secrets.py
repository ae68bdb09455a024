"""Secret values: read from the environment or files, never shown.

Not a stage: providers get a ``SecretResolver`` through their context and call
it only when they hand a value to an engine. Every value is a ``Sensitive``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path

from reconciler import logs
from reconciler.errors import PermanentError
from reconciler.model.common import Kind, ResourceRef, SecretRef
from reconciler.model.desired import DesiredState
from reconciler.model.kinds import Secret, SecretSource
from reconciler.model.sensitive import Sensitive


class Secrets:
    """Resolves ``SecretRef``s against the Secret manifests of one desired state."""

    def __init__(
        self, desired: DesiredState, environ: Mapping[str, str] | None = None
    ) -> None:
        self._root = Path(desired.root)
        self._environ = os.environ if environ is None else environ
        self._secrets: dict[str, tuple[Secret, str]] = {}
        for res in desired.of_kind(Kind.SECRET):
            doc = res.document
            if isinstance(doc, Secret):
                self._secrets[doc.name] = (doc, res.manifest_dir)
        self._cache: dict[tuple[str, str], Sensitive] = {}
        self._lock = threading.Lock()

    def _read(self, name: str, key: str) -> Sensitive:
        ref = ResourceRef(kind=Kind.SECRET, name=name)
        found = self._secrets.get(name)
        if found is None:
            raise PermanentError(f"secret {name!r} is not defined", ref)
        doc, folder = found
        source = doc.spec.keys.get(key)
        if source is None:
            raise PermanentError(f"secret {name!r} has no key {key!r}", ref)
        if doc.spec.from_ is SecretSource.ENV:
            value = self._environ.get(source)
            if value is None:
                raise PermanentError(
                    f"key {key!r}: environment variable {source} is not set", ref
                )
            return Sensitive(value)
        if doc.spec.from_ is SecretSource.FILE:
            path = Path(source)
            if not path.is_absolute():
                path = self._root / folder / path
            try:
                return Sensitive(path.read_text(encoding="utf-8").rstrip("\n"))
            except OSError as exc:
                raise PermanentError(
                    f"key {key!r}: cannot read {path}: {exc.strerror}", ref
                ) from None
        raise PermanentError("from: sops is not supported yet", ref)

    def resolve(self, ref: SecretRef) -> Sensitive:
        cache_key = (ref.secret, ref.key)
        with self._lock:
            if cache_key not in self._cache:
                value = self._read(ref.secret, ref.key)
                logs.register(value)
                self._cache[cache_key] = value
            return self._cache[cache_key]

    def values(self, name: str) -> dict[str, Sensitive]:
        found = self._secrets.get(name)
        if found is None:
            raise PermanentError(
                f"secret {name!r} is not defined", ResourceRef(kind=Kind.SECRET, name=name)
            )
        return {key: self.resolve(SecretRef(secret=name, key=key)) for key in found[0].spec.keys}

    def known(self) -> list[Sensitive]:
        with self._lock:
            return list(self._cache.values())

    def resolve_all(self) -> list[Sensitive]:
        """Every value that can be read now (for redaction); unreadable ones are skipped."""
        out: list[Sensitive] = []
        for name, (doc, _) in self._secrets.items():
            for key in doc.spec.keys:
                try:
                    out.append(self.resolve(SecretRef(secret=name, key=key)))
                except PermanentError:
                    continue
        return out
