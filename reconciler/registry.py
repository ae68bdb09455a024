"""Provider discovery through the ``bosun.providers`` entry-point group.

Each entry point names a provider class; ``select_providers`` instantiates the
ones asked for, or every installed one, and gives each managed kind exactly one
provider. Kinds that no real provider handles fall back to the memory provider,
with a warning in the plan.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import entry_points
from typing import Any

from reconciler.errors import BosunError
from reconciler.model.common import Kind
from reconciler.provider import Provider

GROUP = "bosun.providers"
MANAGED_KINDS = (
    Kind.STACK, Kind.GATEWAY, Kind.ROUTE, Kind.DNS_ZONE, Kind.DNS_RECORD, Kind.SCHEDULE,
)


def available() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def load(name: str) -> Provider:
    eps = available()
    if name not in eps:
        known = ", ".join(sorted(eps)) or "none"
        raise BosunError(f"unknown provider {name!r} (installed: {known})")
    try:
        factory = eps[name].load()
    except Exception as exc:
        raise BosunError(f"provider {name!r} failed to load: {exc}") from exc
    provider = factory()
    if not isinstance(provider, Provider):
        raise BosunError(f"provider {name!r} does not implement the provider protocol")
    return provider


def select_providers(names: Sequence[str] | None = None) -> tuple[list[Provider], list[str]]:
    """Providers to use and warnings about the choice.

    ``names`` given: exactly those. Otherwise every installed provider except
    ``memory``; a managed kind none of them handles goes to ``memory``.
    """
    warnings: list[str] = []
    if names:
        providers = [load(n) for n in dict.fromkeys(names)]
    else:
        providers = [load(n) for n in sorted(available()) if n != "memory"]
    claimed: dict[Kind, str] = {}
    for provider in providers:
        for kind in provider.kinds:
            if kind in claimed:
                raise BosunError(
                    f"kind {kind.value} is handled by both {claimed[kind]!r} and "
                    f"{provider.name!r}; choose with --provider"
                )
            claimed[kind] = provider.name
    missing = frozenset(k for k in MANAGED_KINDS if k not in claimed)
    if missing and not names:
        from providers.memory import MemoryProvider  # first-party fallback

        providers.append(MemoryProvider(kinds=missing))
        warnings.append(
            "no provider installed for "
            + ", ".join(sorted(k.value for k in missing))
            + ": they are planned against the memory provider"
        )
    return providers, warnings
