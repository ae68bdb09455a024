"""Every dashboard string exists in English and Chinese; languages are chosen as documented."""

from __future__ import annotations

import re
from importlib import resources

from reconciler.api.errors import CODES
from reconciler.dashboard.i18n import LANGUAGES, catalog, choose, translate
from reconciler.model.common import Kind
from reconciler.model.plan import ChangeAction, ChangeOutcome
from reconciler.model.status import ConditionType, HealthState, Sync
from reconciler.state import EventLevel, RunState, SourceState

KEY = re.compile(r"""\bt\(\s*["']([A-Za-z0-9_.-]+)["']\s*\)""")
PREFIX = re.compile(r"""\bt\(\s*["']([A-Za-z0-9_]+\.)["']\s*~""")


def _templates() -> dict[str, str]:
    folder = resources.files("reconciler.dashboard").joinpath("templates")
    return {entry.name: entry.read_text(encoding="utf-8") for entry in folder.iterdir()
            if entry.name.endswith(".html")}


def test_catalogs_have_the_same_keys_and_no_empty_message() -> None:
    keys = {lang: set(catalog(lang)) for lang in LANGUAGES}
    english = keys["en"]
    for lang, found in keys.items():
        assert found == english, f"{lang}: missing {english - found}, extra {found - english}"
        assert all(text.strip() for text in catalog(lang).values()), lang


def test_every_key_the_templates_use_exists() -> None:
    used: set[str] = set()
    prefixes: set[str] = set()
    for text in _templates().values():
        used |= set(KEY.findall(text))
        prefixes |= set(PREFIX.findall(text))
    dynamic = {
        "sync.": [s.value for s in Sync], "health.": [h.value for h in HealthState],
        "kind.": [k.value for k in Kind], "condition.": [c.value for c in ConditionType],
        "run.": [r.value for r in RunState], "level.": [v.value for v in EventLevel],
        "source.": [v.value for v in SourceState], "action.": [a.value for a in ChangeAction],
        "result.": [o.value for o in ChangeOutcome],
        "error.": ["not_found", "method_not_allowed", "bad_request", "internal_error", "error"],
    }
    assert prefixes <= set(dynamic), prefixes - set(dynamic)
    for prefix in prefixes:
        used |= {prefix + value for value in dynamic[prefix]}
    assert used, "no keys found: the pattern is wrong"
    for lang in LANGUAGES:
        missing = sorted(k for k in used if k not in catalog(lang))
        assert not missing, f"{lang} lacks {missing}"
    assert "not_found" in CODES.values()


def test_chinese_differs_from_english_where_it_should() -> None:
    assert translate("zh", "overview.title") == "总览"
    assert translate("zh", "health.Degraded") != translate("en", "health.Degraded")


def test_language_choice() -> None:
    assert choose(None, None) == "en"
    assert choose("zh", "en") == "zh"
    assert choose("en", "zh-CN") == "en"
    assert choose("fr", "zh-CN,zh;q=0.9") == "zh"
    assert choose(None, "zh-Hans-CN") == "zh"
    assert choose(None, "fr-FR,zh;q=0.4,en;q=0.8") == "en"
    assert choose(None, "fr-FR, zh_TW;q=0.5") == "zh"
    assert choose(None, "zh;q=0, en;q=0.1") == "en"
    assert choose(None, "de, fr") == "en"
    assert choose(None, "zh;q=bogus,en") == "en"
