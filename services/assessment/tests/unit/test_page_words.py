"""Every flag the scoreboard can put on a row has its words on the page, in Chinese and in
English: a flag without them was shown to a district officer as the API's key ("reward" on
the Chinese page)."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest

from assessment.entrypoints.schemas import ScoreboardRow

pytestmark = pytest.mark.unit

APP = Path(__file__).parents[2] / "assessment" / "page" / "app.js"


def dictionaries() -> dict[str, str]:
    """The text of each language's block of ``WORDS`` in app.js."""
    text = APP.read_text(encoding="utf-8")
    words = text[text.index("const WORDS = {"):]
    zh, en = words.index("\n  zh: {"), words.index("\n  en: {")
    return {"zh": words[zh:en], "en": words[en:words.index("\n};", en)]}


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_flag_has_its_words(language):
    (flag_type,) = typing.get_args(ScoreboardRow.model_fields["flags"].annotation)
    flags = typing.get_args(flag_type)
    assert "reward" in flags and len(flags) >= 7
    block = dictionaries()[language]
    missing = [flag for flag in flags if not re.search(rf"\b{flag}: \"[^\"]+\"", block)]
    assert not missing, f"app.js has no {language} words for {missing}"
