"""Saved plans: a fresh one applies exactly as saved, a stale one is refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler import binding
from reconciler.cli import cli
from reconciler.errors import BosunError, StalePlanError
from reconciler.model.common import Kind, ResourceRef
from reconciler.model.plan import Change, ChangeAction, FieldDiff
from reconciler.model.sensitive import Sensitive
from reconciler.model.source import Revision
from reconciler.pipeline import Reconciler, load_desired

SECRET = "s3cr3t-value-for-binding"


def _repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    assert CliRunner().invoke(cli, ["init", str(root)]).exit_code == 0
    stack = root / "stacks/hello/stack.yaml"
    stack.write_text(stack.read_text().replace(
        "    GREETING: hello from bosun\n",
        "    GREETING: hello from bosun\n    TOKEN: {secret: token, key: value}\n",
    ) + "---\napiVersion: bosun/v1\nkind: Secret\nmetadata: {name: token}\n"
        "spec: {from: env, keys: {value: BINDING_TOKEN}}\n")
    return root


def _memory(state: Path) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((state / "memory.json").read_text())
    return body


def _invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env={"BINDING_TOKEN": SECRET})
    return result.exit_code, result.output


def test_fresh_plan_applies_then_is_stale(tmp_path: Path) -> None:
    root, state, saved = _repo(tmp_path), tmp_path / "state", tmp_path / "plan.json"
    code, out = _invoke("plan", str(root), "--provider", "memory", "--state-dir", str(state),
                        "--out", str(saved))
    assert code == 0, out
    text = saved.read_text()
    assert SECRET not in text
    assert json.loads(text)["providers"] == ["memory"]
    # no --provider: the saved plan's providers are used
    code, out = _invoke("apply", str(root), "--plan", str(saved), "--state-dir", str(state))
    assert code == 0, out
    assert "Apply complete: 3 applied" in out
    assert sorted(_memory(state)["objects"]) == ["Gateway/edge", "Route/hello", "Stack/hello"]
    code, out = _invoke("apply", str(root), "--plan", str(saved), "--state-dir", str(state))
    assert code == 1
    assert "stale plan: the running state changed" in out
    assert _memory(state)["writes"] == 3


def test_plan_is_stale_when_the_repository_changed(tmp_path: Path) -> None:
    root, state, saved = _repo(tmp_path), tmp_path / "state", tmp_path / "plan.json"
    code, out = _invoke("plan", str(root), "--provider", "memory", "--state-dir", str(state),
                        "--out", str(saved))
    assert code == 0, out
    stack = root / "stacks/hello/stack.yaml"
    stack.write_text(stack.read_text().replace("hello from bosun", "hello, changed"))
    code, out = _invoke("apply", str(root), "--plan", str(saved), "--state-dir", str(state))
    assert code == 1
    assert "stale plan: the repository changed" in out
    assert "Nothing was applied" in out
    assert not (state / "memory.json").exists()


def test_plan_is_stale_when_the_revision_moved(tmp_path: Path) -> None:
    root, state = _repo(tmp_path), tmp_path / "state"
    old = load_desired(root, Revision(ref="main", sha="a" * 40))
    new = load_desired(root, Revision(ref="main", sha="b" * 40))
    reconciler = Reconciler(state_dir=state, provider_names=["memory"],
                            environ={"BINDING_TOKEN": SECRET})
    saved = reconciler.plan(old)
    with pytest.raises(StalePlanError, match=r"revision moved from main@sha1:a+ to main@sha1:b+"):
        reconciler.apply_saved(saved, new)
    assert not (state / "memory.json").exists()


def test_saved_changes_are_applied_not_a_new_plan(tmp_path: Path) -> None:
    root, state = _repo(tmp_path), tmp_path / "state"
    desired = load_desired(root)
    reconciler = Reconciler(state_dir=state, provider_names=["memory"])
    full = reconciler.plan(desired)
    assert len(full.changes) == 3
    only_gateway = full.model_copy(update={
        "changes": tuple(c for c in full.changes if c.ref.kind is Kind.GATEWAY)})
    path = tmp_path / "partial.json"
    binding.save(only_gateway, path, ["memory"])
    report = reconciler.apply_saved(binding.load(path).plan, desired)
    assert [str(r.ref) for r in report.results] == ["Gateway/edge"]
    assert list(_memory(state)["objects"]) == ["Gateway/edge"]


def test_an_altered_saved_plan_is_refused(tmp_path: Path) -> None:
    root, state, saved = _repo(tmp_path), tmp_path / "state", tmp_path / "plan.json"
    assert _invoke("plan", str(root), "--provider", "memory", "--state-dir", str(state),
                   "--out", str(saved))[0] == 0
    body = json.loads(saved.read_text())
    body["plan"]["changes"] = body["plan"]["changes"][:1]
    saved.write_text(json.dumps(body))
    with pytest.raises(BosunError, match="changed after it was saved"):
        binding.load(saved)
    code, out = _invoke("apply", str(root), "--plan", str(saved), "--state-dir", str(state))
    assert code == 1 and "changed after it was saved" in out
    saved.write_text('{"kind": "something else"}')
    with pytest.raises(BosunError, match="not a saved bosun plan"):
        binding.load(saved)


def test_saved_plans_never_hold_secret_values(tmp_path: Path) -> None:
    ref = ResourceRef(kind=Kind.STACK, name="app")
    made = Reconciler(state_dir=tmp_path / "s", provider_names=["memory"]).plan(
        load_desired(_repo(tmp_path)))
    change = Change(
        action=ChangeAction.UPDATE, ref=ref, provider="memory",
        reason=f"token changed to {SECRET}",
        diffs=(FieldDiff(path="spec.env.TOKEN", before="old-secret-1", after=SECRET,
                         sensitive=True),
               FieldDiff(path="spec.env.PLAIN", before="a", after="b")),
        payload={"env": {"TOKEN": SECRET}},
    )
    plan = made.model_copy(update={"changes": (change,)})
    clean = binding.sanitize(plan, [Sensitive(SECRET)])
    path = tmp_path / "plan.json"
    binding.save(clean, path)
    text = path.read_text()
    assert SECRET not in text and "old-secret-1" not in text
    assert "(sensitive)" in text and '"b"' in text
    assert binding.load(path).plan.digest() == clean.digest()
