"""The one place that runs the stages in order.

source -> load -> validate -> resolve -> policy -> observe -> plan -> apply -> record

Triggers (CLI, poll timer, webhook, watcher, schedule, API) call these
functions; none of them reconciles on its own.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler import load as load_stage
from reconciler import observe as observe_stage
from reconciler import plan as plan_stage
from reconciler import policy as policy_stage
from reconciler import resolve as resolve_stage
from reconciler import validate as validate_stage
from reconciler.apply import apply_plan
from reconciler.errors import ConfigError, PolicyViolation
from reconciler.model.desired import DesiredState
from reconciler.model.kinds import Policy
from reconciler.model.plan import ApplyReport, ChangeResult, Plan, PlanWarning
from reconciler.model.source import Revision
from reconciler.provider import ApplyOptions, Provider, ProviderContext
from reconciler.registry import select_providers
from reconciler.secrets import Secrets

log = logging.getLogger("bosun")

class _GCPause:
    """Counts nested and concurrent pauses; the collector resumes when the last ends."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.was_enabled = False

    def enter(self) -> None:
        with self.lock:
            if self.count == 0:
                self.was_enabled = gc.isenabled()
                gc.disable()
            self.count += 1

    def leave(self) -> None:
        with self.lock:
            self.count -= 1
            if self.count == 0 and self.was_enabled:
                gc.enable()


_GC = _GCPause()


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Run a block with the cyclic garbage collector paused.

    Loading and planning a large repository allocate hundreds of thousands of
    small acyclic objects; the collector's full passes over them cost about a
    quarter of the time (bench/load_plan.py). Reference counting still frees
    them; cycles, if any, are collected once the last pause ends.
    """
    _GC.enter()
    try:
        yield
    finally:
        _GC.leave()


def load_desired(root: Path, revision: Revision | None = None) -> DesiredState:
    """Load, validate and resolve the repository at ``root``.

    Raises ``ConfigError`` with every problem found; nothing else happens. The
    resolve stage runs even when documents failed validation (references to
    them are not reported twice), so that one run shows every problem; it is
    left out only when a file could not be read at all, since the documents
    in it, and so every reference to them, are unknown.
    """
    root = root.resolve()
    with gc_paused():
        loaded = load_stage.load(root)
        checked = validate_stage.validate_all(loaded.documents, loaded.repository)
        problems = [*loaded.problems, *checked.problems]
        if loaded.broken_files or (loaded.problems and not loaded.files):
            raise ConfigError(problems)
        invalid = set(checked.invalid)
        for doc in loaded.rejected:
            ref = validate_stage.raw_ref(doc)
            if ref is not None:
                invalid.add(ref)
        return resolve_stage.resolve(
            root, revision or Revision(), checked.validated, checked.repository,
            invalid=invalid, problems=problems,
        )


@dataclass
class Reconciler:
    """Plans and applies one repository against its providers."""

    state_dir: Path
    provider_names: Sequence[str] | None = None
    options: ApplyOptions = field(default_factory=ApplyOptions)
    environ: Mapping[str, str] | None = None
    builtin_policies: Sequence[Policy] = ()
    progress: Callable[[Any, str], None] | None = None
    providers: list[Provider] = field(init=False)
    provider_warnings: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.providers, self.provider_warnings = select_providers(self.provider_names)

    def context(self, desired: DesiredState) -> ProviderContext:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {}
        if self.progress is not None:
            kwargs["progress"] = self.progress
        return ProviderContext(
            state_dir=self.state_dir, owner=desired.owner,
            secrets=Secrets(desired, self.environ), options=self.options, log=log, **kwargs,
        )

    def plan(self, desired: DesiredState, ctx: ProviderContext | None = None) -> Plan:
        ctx = ctx or self.context(desired)
        policy = policy_stage.evaluate(desired, self.builtin_policies)
        observations = observe_stage.observe(desired, self.providers, ctx)
        warnings = [PlanWarning(message=w) for w in self.provider_warnings]
        with gc_paused():
            return plan_stage.make_plan(
                desired, self.providers, observations.states, dict(observations.errors), ctx,
                policy=policy, warnings=warnings,
            )

    def apply(
        self, plan: Plan, desired: DesiredState, ctx: ProviderContext | None = None,
        on_result: Callable[[ChangeResult], None] | None = None,
    ) -> ApplyReport:
        if plan.blocked:
            rules = sorted({p.rule for p in plan.policy if p.enforced})
            raise PolicyViolation(
                f"enforced policy rules failed ({', '.join(rules)}); nothing was applied"
            )
        ctx = ctx or self.context(desired)
        return apply_plan(plan, desired, self.providers, ctx, on_result=on_result)
