"""The CC-CEDICT query dictionary's pure core: reverse index, lemmas, weighted translation."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.dictionary import (
    EXACT,
    HEAD,
    ReverseDictionary,
    absent_keys,
    build_reverse,
    lemmas,
    load_reverse,
    translate,
)
from index.lexicon import seed_lexicon, uncovered_runs

LINES = [
    "# CC-CEDICT header",
    "挑戰 挑战 [tiao3 zhan4] /to challenge/challenge/",
    "目標 目标 [mu4 biao1] /target/goal/objective/CL:個|个[ge4]/",
    "目的 目的 [mu4 di4] /purpose; aim; goal; target; objective/CL:個|个[ge4]/",
    "志向 志向 [zhi4 xiang4] /ambition/goal/ideal/aspiration/",
    "短期 短期 [duan3 qi1] /short term/short-term/",
    "創始人 创始人 [chuang4 shi3 ren2] /creator/founder/initiator/",
    "研究項目 研究项目 [yan2 jiu1 xiang4 mu4] /research project/",
    "T恤 T恤 [T xu4] /T-shirt/",
    "年 年 [nian2] /year/CL:個|个[ge4]/",
]
DF = {"挑战": 5, "目标": 12, "目的": 3, "短期": 4, "创始人": 2, "研究项目": 1, "年": 90}


def df(term: str) -> int:
    return DF.get(term, 0)


@pytest.fixture(scope="module")
def reverse() -> ReverseDictionary:
    return build_reverse(LINES)


def test_reverse_keys_glosses_and_heads(reverse: ReverseDictionary) -> None:
    assert [c.zh for c in reverse.get("challenge")] == ["挑战"]  # "to" dropped, deduplicated
    assert reverse.get("short term")[0].zh == "短期"  # hyphen = space
    assert {c.zh for c in reverse.get("goal")} == {"目标", "目的", "志向"}
    project = reverse.get("project")
    assert project[0].zh == "研究项目" and project[0].fit == HEAD
    assert reverse.get("research project")[0].fit == EXACT
    assert reverse.get("t shirt") == ()  # headword not all Chinese characters
    assert reverse.get("cl") == ()


def test_json_round_trip(reverse: ReverseDictionary) -> None:
    assert ReverseDictionary.from_json(reverse.to_json()) == reverse
    with pytest.raises(ValueError):
        ReverseDictionary.from_json('{"format": "other", "version": 1, "entries": {}}')


@pytest.mark.parametrize(
    ("word", "base"),
    [("challenges", "challenge"), ("planned", "plan"), ("supplied", "supply"),
     ("founding", "found"), ("used", "use"), ("companies", "company")],
)  # fmt: skip
def test_lemmas_include_the_base(word: str, base: str) -> None:
    forms = lemmas(word)
    assert forms[0] == word and base in forms


def test_translate_longest_phrase_capped_and_balanced(reverse: ReverseDictionary) -> None:
    terms = translate([("short", "term", "goals")], reverse, df, max_candidates=2, word_weight=1.0)
    got = {t.term: (t.english, t.weight) for t in terms}
    # short term → one key; goal → its two most frequent known headwords, sharing weight 1.
    assert got == {"短期": ("short term", 1.0), "目标": ("goal", 0.5), "目的": ("goal", 0.5)}


def test_translate_skips_unknown_short_and_stop_words(reverse: ReverseDictionary) -> None:
    # 志向 is not in the index; 年 is one character; "what"/"does" are question words.
    assert translate([("what", "does", "year")], reverse, df) == []
    only = translate([("goal",)], reverse, lambda t: 1 if t == "志向" else 0, word_weight=0.5)
    assert [(t.term, t.weight) for t in only] == [("志向", 0.5)]
    assert [t.term for t in translate([("year",)], reverse, df, min_chars=1)] == ["年"]


def test_absent_keys_are_known_words_whose_translations_no_passage_holds(
    reverse: ReverseDictionary,
) -> None:
    # "founder" → 创始人 and "year" → 年 (one character still counts) are indexed;
    # "challenge" → 挑战 is not in this index; "xyzzy" is no dictionary word (phrasing).
    index = {"创始人": 2, "年": 50}.get

    def known(term: str) -> int:
        return index(term) or 0

    runs = [("founder", "challenges", "xyzzy", "year")]
    assert absent_keys(runs, reverse, known) == ["challenge"]
    assert absent_keys(runs, reverse, df) == []
    # A phrase is absent only when its head word alone is absent too.
    phrases = build_reverse(
        ["前三名 前三名 [qian2 san1 ming2] /top three/", "三 三 [san1] /three/"]
    )
    runs = [("top", "three")]
    assert absent_keys(runs, phrases, lambda t: 10 if t == "三" else 0) == []
    assert absent_keys(runs, phrases, lambda t: 0) == ["top three"]


def test_uncovered_runs_leave_out_lexicon_terms() -> None:
    runs = uncovered_runs("What are the short-term goals of the wafer roadmap?", seed_lexicon())
    assert runs == [("what", "are", "the", "short", "term", "goals", "of", "the"), ("roadmap",)]


def test_load_reverse_caches_json(tmp_path: Path) -> None:
    first = load_reverse(tmp_path)
    cached = tmp_path / "cedict-reverse.json"
    assert cached.is_file() and cached.read_text(encoding="utf-8").startswith('{"source":')
    assert load_reverse(tmp_path) == first
    assert "挑战" in {c.zh for c in first.get("challenge")}
