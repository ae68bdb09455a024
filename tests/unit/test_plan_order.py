"""The plan stage's dependency order is graphlib's, round by round, on any acyclic graph."""

from __future__ import annotations

import graphlib

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.model.common import Kind, ResourceRef
from reconciler.model.desired import DesiredResource, DesiredState
from reconciler.model.kinds import Host, Repository
from reconciler.model.source import Position, Revision
from reconciler.plan import dependency_order

REPO = Repository.model_validate({"apiVersion": "bosun/v1", "kind": "Repository",
                                  "metadata": {"name": "r"}, "spec": {"owner": "o"}})
HOST = Host.model_validate({"apiVersion": "bosun/v1", "kind": "Host",
                            "metadata": {"name": "local"}})
AT = Position(file="f.yaml", line=1, column=1)


def graphlib_order(desired: DesiredState) -> dict[ResourceRef, int]:
    sorter = graphlib.TopologicalSorter({r.ref: set(r.depends_on) for r in desired.resources})
    sorter.prepare()
    order: dict[ResourceRef, int] = {}
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=ResourceRef.sort_key)
        for ref in ready:
            order[ref] = len(order)
        sorter.done(*ready)
    return order


@st.composite
def acyclic(draw: st.DrawFn) -> DesiredState:
    count = draw(st.integers(1, 30))
    refs = [ResourceRef(kind=draw(st.sampled_from(list(Kind))), name=f"r{i}")
            for i in range(count)]
    outside = ResourceRef(kind=Kind.HOST, name="elsewhere")  # a dependency, not a resource
    resources = []
    for i, ref in enumerate(refs):
        deps = draw(st.lists(st.sampled_from([*refs[:i], outside]), max_size=3)) if i else []
        resources.append(DesiredResource(ref=ref, document=HOST, position=AT,
                                         depends_on=tuple(deps), digest="sha256:0"))
    shuffled = draw(st.permutations(resources))
    return DesiredState(root="/", revision=Revision(), repository=REPO,
                        resources=tuple(shuffled), digest="sha256:0")


@settings(max_examples=200, deadline=None)
@given(acyclic())
def test_dependency_order_is_graphlibs(desired: DesiredState) -> None:
    assert dependency_order(desired) == graphlib_order(desired)
