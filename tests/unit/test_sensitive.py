"""A secret value never shows: repr, str, format, JSON dumps, log lines, plans."""

from __future__ import annotations

import io
import json
import logging
import pickle
from pathlib import Path

import pytest

from reconciler import logs
from reconciler.model import (
    REDACTED,
    ApplyReport,
    Change,
    ChangeAction,
    ChangeOutcome,
    ChangeResult,
    FieldDiff,
    Plan,
    ResourceRef,
    SecretRef,
    Sensitive,
)
from reconciler.model.diff import diff_values
from reconciler.model.digest import canonical_json
from reconciler.pipeline import load_desired
from reconciler.render import render
from reconciler.secrets import Secrets

VALUE = "hunter2-correct-horse"
OTHER = "battery-staple-42"


def test_the_value_hides_in_every_rendering() -> None:
    secret = Sensitive(VALUE)
    assert secret.reveal() == VALUE
    for text in (repr(secret), str(secret), f"{secret}", f"{secret!r}", f"{secret:>30}",
                 "%s" % secret, "{}".format(secret),  # noqa: UP031, UP032
                 repr([secret]), repr({"k": secret}),
                 canonical_json({"k": secret})):
        assert VALUE not in text
        assert REDACTED in text


def test_equality_without_showing() -> None:
    assert Sensitive(VALUE) == Sensitive(VALUE)
    assert Sensitive(VALUE) != Sensitive(OTHER)
    assert len({Sensitive(VALUE), Sensitive(VALUE)}) == 1
    with pytest.raises(TypeError):
        pickle.dumps(Sensitive(VALUE))


def _plan() -> Plan:
    ref = ResourceRef.parse("Stack/blog")
    change = Change(
        action=ChangeAction.UPDATE, ref=ref, provider="memory", reason="changed: spec.env",
        diffs=(
            FieldDiff(path="spec.env.TOKEN", before=VALUE, after=OTHER, sensitive=True),
            FieldDiff(path="spec.env.RAW", before=Sensitive(VALUE), after=Sensitive(OTHER)),
            FieldDiff(path="spec.env.NESTED", before=None, after={"a": [Sensitive(VALUE)]}),
        ),
        payload={"token": Sensitive(VALUE)},
    )
    return Plan(revision="main@sha1:abc", desired_digest="sha256:00", observed_digest="sha256:11",
                changes=(change,))


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_plans_never_show_values(fmt: str) -> None:
    out = render(_plan(), fmt)
    assert VALUE not in out and OTHER not in out
    assert REDACTED in out


def test_json_dumps_of_models_never_show_values() -> None:
    plan = _plan()
    for text in (plan.model_dump_json(), json.dumps(plan.model_dump(mode="json")),
                 repr(plan), str(plan.model_dump())):
        assert VALUE not in text and OTHER not in text
    result = ChangeResult(ref=ResourceRef.parse("Stack/blog"), action=ChangeAction.UPDATE,
                          outcome=ChangeOutcome.APPLIED, data={"token": Sensitive(VALUE)})
    report = ApplyReport(plan_digest=plan.digest(), revision="r", results=(result,))
    assert VALUE not in report.model_dump_json()


def test_sensitive_paths_in_diffs_are_redacted() -> None:
    diffs = diff_values({"env": {"A": "1", "TOKEN": VALUE}}, {"env": {"A": "2", "TOKEN": OTHER}},
                        sensitive=frozenset({"env.TOKEN"}))
    shown = {d.path: d.shown() for d in diffs}
    assert shown == {"env.A": ("1", "2"), "env.TOKEN": (REDACTED, REDACTED)}


def test_log_lines_are_scrubbed(tmp_path: Path) -> None:
    (tmp_path / "secret.yaml").write_text("""\
apiVersion: bosun/v1
kind: Secret
metadata: {name: db}
spec: {from: env, keys: {password: DB_PASSWORD}}
""")
    desired = load_desired(tmp_path)
    secrets = Secrets(desired, environ={"DB_PASSWORD": VALUE})
    value = secrets.resolve(SecretRef(secret="db", key="password"))
    stream = io.StringIO()
    logs.setup(logging.DEBUG, stream)
    log = logging.getLogger("bosun.test")
    log.info("value as object: %s", value)
    log.info("value revealed by mistake: " + value.reveal())
    log.info("in args: %s", value.reveal())
    try:
        raise RuntimeError(f"engine said: bad password {value.reveal()}")
    except RuntimeError:
        log.exception("apply failed")
    logs.setup(logging.WARNING)
    out = stream.getvalue()
    assert VALUE not in out
    assert out.count(REDACTED) >= 4
