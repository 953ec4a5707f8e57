"""Eval metrics without models: answer matching, shares, percentiles, citation checks."""

from __future__ import annotations

import dataclasses

import pytest

from evals.dataset import EvalItem
from evals.metrics import answer_correct, citation_lines_hold_text, percentile, share
from evals.run import score_answer
from index.retriever import Hit
from ingest.document import Chunk
from service.results import Answer, Citation


def item(*answers: str, kind: str = "number", evidence: str | None = None) -> EvalItem:
    return EvalItem(
        id="q-1",
        lang="zh",
        question="？",
        answers=answers,
        doc="doc.txt" if answers else None,
        evidence=evidence if answers else None,
        type=kind if answers else "unanswerable",
    )


# ----------------------------------------------------------------- answer_correct


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        ("3551.9亿元", "根据资料，规模将达到３５５１．９亿元。[1]"),  # full-width digits
        ("HBM3E", "It ships hbm3e stacks [1]."),  # case
        ("Hybrid Bonding", "uses hybrid  bonding"),  # spaces
        ("长电科技、通富微电", "长电科技，通富微电和华天科技"),  # CJK punctuation
        ("“本源坤元”", "发布了本源坤元"),  # quotes
        ("14300", "共14,300项专利"),  # thousands separator: comma
        ("14,300", "共14300项专利"),  # …either side
        ("14300", "共14，300项专利"),  # full-width comma
        ("14300", "共14 300项专利"),  # space
        ("14300", "共14\u202f300项专利"),  # narrow no-break space
        ("14300", "共14'300项专利"),  # apostrophe
        ("14.6%", "同比增长 14.6 %。"),  # spaces around the number
        ("ＣｏＷｏＳ", "CoWoS is a 2.5D package"),  # full-width letters in the gold
    ],
)
def test_gold_found_after_normalising(gold: str, answer: str) -> None:
    assert answer_correct(item(gold), answer, refused=False)


def test_any_gold_answer_counts() -> None:
    assert answer_correct(item("三家", "3家"), "共有3家企业", refused=False)


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        ("146", "增长1.46%"),  # a decimal point is not a separator
        ("31", "数量为3[1]"),  # a citation marker is not part of the answer
        ("31", "数量为3【1】"),
        ("通富微电", "长电科技"),
    ],
)
def test_gold_not_found(gold: str, answer: str) -> None:
    assert not answer_correct(item(gold), answer, refused=False)


def test_an_english_rendering_of_the_gold_counts() -> None:
    english = dataclasses.replace(item("1981年"), lang="en", answers_en=("1981",))
    assert answer_correct(english, "TCL was founded in 1981 [1].", refused=False)
    assert answer_correct(english, "TCL成立于1981年[1]", refused=False)  # the quoted source
    assert not answer_correct(english, "TCL was founded in 1991 [1].", refused=False)
    assert not answer_correct(english, "TCL was founded in 1981 [1].", refused=True)


def test_refused_or_unanswerable_is_never_correct() -> None:
    assert not answer_correct(item("3家"), "共有3家企业", refused=True)
    assert not answer_correct(item(), "共有3家企业", refused=False)


def test_gold_of_punctuation_alone_matches_nothing() -> None:
    assert not answer_correct(item("。"), "任何回答", refused=False)


# --------------------------------------------------------------- share, percentile


def test_share_and_empty_share() -> None:
    assert share([True, False, True, True]) == 0.75
    assert share([]) is None


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5.0], 50, 5.0),
        ([1.0, 2.0], 50, 1.0),
        ([3.0, 1.0, 2.0], 50, 2.0),
        ([float(v) for v in range(1, 101)], 95, 95.0),
        ([float(v) for v in range(1, 21)], 95, 19.0),
        ([1.0, 2.0, 3.0], 100, 3.0),
    ],
)
def test_percentile_nearest_rank(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == expected


def test_percentile_of_nothing() -> None:
    assert percentile([], 50) is None


# ------------------------------------------------------------------ citation checks

LINES = ["标题", "先进封装市场规模", "将达到3551.9亿元。", "其他内容"]


def test_citation_lines_hold_text() -> None:
    assert citation_lines_hold_text("先进封装市场规模\n将达到3551.9亿元。", LINES, 2, 3)
    assert not citation_lines_hold_text("其他内容", LINES, 2, 3)
    assert not citation_lines_hold_text("标题", LINES, 0, 1)  # line numbers are 1-based
    assert not citation_lines_hold_text("其他内容", LINES, 4, 9)  # past the end of the file


def hit(text: str, start: int, end: int, source: str = "doc.txt") -> Hit:
    chunk = Chunk("c1", "d1", source, "t", None, text, start, end)
    return Hit(rank=1, score=1.0, chunk=chunk)


def answer(text: str, *citations: Citation, refused: bool = False) -> Answer:
    return Answer("？", "zh", text, refused, citations, "extractive", {"total": 5.0})


def lines_of(source: str) -> list[str]:
    return LINES if source == "doc.txt" else []


def test_score_answer_valid_supported_and_correct() -> None:
    cited = Citation(1, hit("先进封装市场规模\n将达到3551.9亿元。", 2, 3), ("将达到3551.9亿元。",))
    record = score_answer(
        item("3551.9亿元", evidence="将达到3551.9亿元"),
        answer("根据资料，将达到3551.9亿元。[1]", cited),
        lines_of,
    )
    assert record.correct and record.right and record.language_ok
    assert record.citations_valid and record.citation_supports
    assert record.timings_ms == {"total": 5.0}


def test_score_answer_marker_without_citation_is_invalid() -> None:
    cited = Citation(1, hit("先进封装市场规模", 2, 2))
    record = score_answer(item("x"), answer("根据资料，规模如下。[1][2]", cited), lines_of)
    assert not record.citations_valid


def test_score_answer_citation_pointing_at_wrong_lines_is_invalid() -> None:
    cited = Citation(1, hit("先进封装市场规模", 3, 4))
    assert not score_answer(item("x"), answer("规模[1]", cited), lines_of).citations_valid
    quoted = Citation(1, hit("先进封装市场规模", 2, 2), ("一句不在那里的话",))
    assert not score_answer(item("x"), answer("规模[1]", quoted), lines_of).citations_valid
    missing = Citation(1, hit("先进封装市场规模", 2, 2, source="gone.txt"))
    assert not score_answer(item("x"), answer("规模[1]", missing), lines_of).citations_valid


def test_score_answer_support_needs_the_evidence_in_a_cited_passage() -> None:
    cited = Citation(1, hit("先进封装市场规模", 2, 2))
    record = score_answer(
        item("3551.9亿元", evidence="将达到3551.9亿元"), answer("规模[1]", cited), lines_of
    )
    assert record.citations_valid and not record.citation_supports and not record.correct


def test_refusal_of_unanswerable_is_right() -> None:
    record = score_answer(item(), answer("资料中没有找到相关信息。", refused=True), lines_of)
    assert record.right and not record.correct
