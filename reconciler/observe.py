"""Stage *observe*: each provider reads actual state in bulk.

... -> policy -> **observe** -> plan -> ...

A failed read is recorded as an ``ObserveError`` for that provider; the plan
stage then plans nothing (and above all deletes nothing) for its resources.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from reconciler.errors import BosunError, ObserveError
from reconciler.model.desired import DesiredState
from reconciler.provider import Provider, ProviderContext


@dataclass
class Observations:
    states: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, ObserveError] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _observe_one(
    provider: Provider, desired: DesiredState, ctx: ProviderContext
) -> tuple[str, Any, ObserveError | None, float]:
    start = time.perf_counter()
    try:
        state = provider.observe(desired, ctx)
    except ObserveError as exc:
        return provider.name, None, exc, time.perf_counter() - start
    except BosunError as exc:
        return provider.name, None, ObserveError(str(exc)), time.perf_counter() - start
    except Exception as exc:  # a provider bug must not look like "nothing exists"
        ctx.log.exception("provider %s failed to observe", provider.name)
        err = ObserveError(f"{type(exc).__name__}: {exc}")
        return provider.name, None, err, time.perf_counter() - start
    return provider.name, state, None, time.perf_counter() - start


def observe(
    desired: DesiredState, providers: Sequence[Provider], ctx: ProviderContext
) -> Observations:
    """Observe with every provider concurrently."""
    out = Observations()
    if not providers:
        return out
    with ThreadPoolExecutor(max_workers=min(8, len(providers))) as pool:
        futures = [pool.submit(_observe_one, p, desired, ctx) for p in providers]
        for fut in futures:
            name, state, error, seconds = fut.result()
            out.seconds[name] = seconds
            if error is not None:
                out.errors[name] = error
            else:
                out.states[name] = state
    return out
