"""The dashboard's languages: message catalogs and how a request picks one.

Part of the dashboard. Every string the pages show comes from
``messages.<lang>.json`` beside this module (a test checks that every key
exists in every catalog and that every key the templates use exists). A
request picks its language by ``?lang=``, else by ``Accept-Language``
(quality values honoured; ``zh``, ``zh-CN``, ``zh-Hans`` all mean Chinese),
else English.
"""

from __future__ import annotations

import functools
import json
from importlib import resources

LANGUAGES = {"en": "English", "zh": "中文"}
TAGS = {"en": "en", "zh": "zh-CN"}
DEFAULT = "en"


@functools.cache
def catalog(lang: str) -> dict[str, str]:
    text = resources.files("reconciler.dashboard").joinpath(f"messages.{lang}.json").read_text(
        encoding="utf-8")
    data: dict[str, str] = json.loads(text)
    return data


def translate(lang: str, key: str) -> str:
    """The message for ``key``; a missing key shows itself rather than failing a page."""
    found = catalog(lang).get(key)
    if found is None and lang != DEFAULT:
        found = catalog(DEFAULT).get(key)
    return found if found is not None else key


def _primary(tag: str) -> str:
    return tag.strip().lower().replace("_", "-").split("-")[0]


def choose(query: str | None, accept: str | None) -> str:
    if query and _primary(query) in LANGUAGES:
        return _primary(query)
    if not accept:
        return DEFAULT
    ranked: list[tuple[float, int, str]] = []
    for n, part in enumerate(accept.split(",")):
        tag, _, params = part.partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        lang = _primary(tag)
        if lang in LANGUAGES and quality > 0:
            ranked.append((-quality, n, lang))
    return min(ranked)[2] if ranked else DEFAULT
