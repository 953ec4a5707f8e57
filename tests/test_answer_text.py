"""Pure answer-text functions: language, citation markers, grounding."""

from __future__ import annotations

import pytest

from service.answer import _restates
from service.citations import (
    attach_best_citation,
    finalise_citations,
    normalise_markers,
    renumber,
    repair_citations,
)
from service.grounding import ground_answer, numbers
from service.language import answer_language_ok, detect_language


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("CoWoS是什么？", "zh"),
        ("What is 长电科技's revenue?", "en"),
        ("2023年全球OSAT厂商中，长电科技的市场份额是多少？", "zh"),
        ("What stake does 徐振 directly hold in 朗迅科技?", "en"),
        ("HBM3E的带宽是多少", "zh"),
        ("What is HBM3E?", "en"),
        ("Yole预测2028年全球磷化铟衬底市场规模会到多少？", "zh"),
        ("１２３４５？！", "en"),
        ("", "en"),
        ("   ", "en"),
        ("台积电", "zh"),
    ],
)
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_answer_language() -> None:
    assert answer_language_ok("长电科技 reported a 10.3% share [1].", "en")
    assert answer_language_ok("According to the documents: “长电科技的份额为10.3%。” [1].", "en")
    assert not answer_language_ok("长电科技的市场份额为10.3%，位列第三 [1]。", "en")
    assert not answer_language_ok("“长电科技的份额为10.3%。” [1]", "en")
    assert answer_language_ok("根据资料，长电科技的市场份额为10.3%[1]。", "zh")
    assert answer_language_ok("台积电CoWoS分为CoWoS-S、CoWoS-R和CoWoS-L三种[1]。", "zh")
    assert not answer_language_ok("The share of 长电科技 was 10.3% [1].", "zh")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("A [1, 2] B", "A [1][2] B"),
        ("A【1】B", "A[1]B"),
        ("A[^3]", "A[3]"),
        ("A［１］", "A[1]"),
        ("A [1，3]", "A [1][3]"),
        ("A [2-4]", "A [2][3][4]"),
        ("A [1][2]", "A [1][2]"),
    ],
)
def test_normalise_markers(raw: str, clean: str) -> None:
    assert normalise_markers(raw) == clean


def test_repair_drops_markers_pointing_nowhere_and_placeholders() -> None:
    text, used = repair_citations("份额为10.3% [n]，另见[7]与[0]，以及[3][2] [3]。", 3)
    assert "[n]" not in text and "[7]" not in text and "[0]" not in text
    assert used == [3, 2]
    assert repair_citations("No citations here.", 3) == ("No citations here.", [])


def test_renumber_by_first_use() -> None:
    assert renumber("A [3]. B [1]. C [3].", [3, 1]) == "A [1]. B [2]. C [1]."
    assert renumber("A [3] B [5].", [3]) == "A [1] B."


def test_attach_best_citation() -> None:
    assert attach_best_citation("份额为10.3%。", 2) == "份额为10.3%[2]。"
    assert attach_best_citation("The share was 10.3%.", 2) == "The share was 10.3% [2]."
    assert attach_best_citation("Already cited [1].", 2) == "Already cited [1]."
    assert attach_best_citation("", 1) == ""


def test_finalise_guarantees_numbering() -> None:
    text, passages = finalise_citations("B [4]，A [2, 4]，C [9] [n]。", 5)
    assert passages == [4, 2]
    assert text == "B [1]，A [2][1]，C。"
    text, passages = finalise_citations("没有引用。", 5, best=3)
    assert (text, passages) == ("没有引用[1]。", [3])


def test_numbers_fold_separators_and_width() -> None:
    assert numbers("14,300项") == numbers("14 300项") == numbers("１４３００项")
    assert {v for v, _ in numbers("10.3％与25.9%")} == {v for v, _ in numbers("10.3%, 25.9%")}
    assert numbers("2.5D与3D封装，HBM3E") == set()
    assert numbers("见[1]。") == set()


PASSAGES = {
    1: "2023年，全球前五的OSAT厂商为日月光、安靠科技、长电科技，份额分别为25.9%、14.1%、10.3%。",
    2: "台积电的CoWoS分为CoWoS-S、CoWoS-R和CoWoS-L，应用材料拥有14,300项专利，营收14.6亿元。",
}


def test_grounding_keeps_supported_and_drops_unsupported() -> None:
    answer = (
        "2023年，长电科技的份额为10.3%[1]。日月光为26.1%[1]。"
        "CoWoS分为CoWoS-S和CoWoS-L[2]。台积电还有CoWoS-X[2]。"
    )
    report = ground_answer(answer, PASSAGES)
    assert report.kept == "2023年，长电科技的份额为10.3%[1]。CoWoS分为CoWoS-S和CoWoS-L[2]。"
    assert report.dropped == ("日月光为26.1%[1]。", "台积电还有CoWoS-X[2]。")


def test_grounding_checks_the_cited_passage_only() -> None:
    report = ground_answer("长电科技份额为10.3%[2]。", PASSAGES)
    assert report.kept == "" and len(report.dropped) == 1


def test_grounding_numbers_units_and_separators() -> None:
    report = ground_answer(
        "应用材料拥有１４３００项专利[2]。The patents number 14 300 [2].", PASSAGES
    )
    assert not report.dropped
    # 亿 → billion is the one accepted conversion; other renderings are unsupported.
    assert not ground_answer("Revenue was 1.46 billion yuan [2].", PASSAGES).dropped
    assert ground_answer("Revenue was 146 million yuan [2].", PASSAGES).dropped
    assert ground_answer("份额为10.3亿元[1]。", PASSAGES).dropped


def test_grounding_question_years_and_aliases() -> None:
    # A year restating the question is not a claim; TSMC is found as 台积电 via aliases.
    q = "What did TSMC's CoWoS look like in 2024?"
    report = ground_answer("In 2024, TSMC's CoWoS came as CoWoS-S [2].", PASSAGES, question=q)
    assert not report.dropped
    report = ground_answer(
        "TSMC's CoWoS came as CoWoS-S [2].", PASSAGES, aliases={"tsmc": ["台积电"]}
    )
    assert not report.dropped
    assert ground_answer("TSMC's CoWoS came as CoWoS-S [2].", PASSAGES).dropped


def test_grounding_quotes_must_be_verbatim() -> None:
    assert not ground_answer(
        "According to the documents: “CoWoS分为CoWoS-S” [2].", PASSAGES
    ).dropped
    assert ground_answer("According to the documents: “CoWoS共有五种” [2].", PASSAGES).dropped


def test_grounding_enumerators_and_markers_are_not_claims() -> None:
    report = ground_answer("1. 长电科技份额为10.3%[1]。", PASSAGES)
    assert not report.dropped


def test_an_answer_restating_the_question_is_told_apart() -> None:
    question = "Whose technology does the Chiplet paper cite as an example of a Chinese firm?"
    assert _restates(
        "The Chiplet paper cites the technology of the Chinese firm as an example.", question
    )
    assert not _restates("The paper cites JCET's XDFOI technology.", question)
    assert not _restates(
        "根据资料，长电科技的XDFOI技术已具备量产能力。", "哪家企业已具备量产能力？"
    )
