"""The extractive answerer with the real embedder and retriever over the built index."""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

import pytest

from evals.dataset import EvalItem, load_eval_set
from evals.metrics import answer_correct
from index.lexicon import expand_query
from index.retriever import HybridRetriever
from service.language import answer_language_ok
from service.llm.extractive import (
    ExtractiveAnswerer,
    asked_measure,
    figure_shape,
    units,
    units_in_context,
)
from service.results import Language

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "evals" / "qa.jsonl"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def retriever(corpus_home: Path) -> HybridRetriever:
    from service.settings import Settings
    from service.wiring import make_retriever

    return make_retriever(Settings(home=corpus_home))


def _dev_items() -> list[EvalItem]:
    # Dev split only: the test split never informs a choice made here.
    dev = [i for i in load_eval_set(EVAL) if i.split == "dev" and i.answerable]
    return [i for i in dev if i.lang == "zh"][:10] + [i for i in dev if i.lang == "en"][:5]


def test_units_keep_table_rows_whole() -> None:
    text = "- 第一句话说的是封装。第二句话说的是测试！\n长电科技\t10.3%\t第三\n标题"
    assert units(text) == ["第一句话说的是封装。", "第二句话说的是测试！", "长电科技\t10.3%\t第三"]


def test_table_rows_carry_their_caption_and_header() -> None:
    text = (
        "表2 2023年招生占比\n层次\t专业\t占比\n高职专科\t电气自动化技术\t58.12%\n表格之后的一句话。"
    )
    assert units_in_context(text) == [
        ("表2 2023年招生占比", ""),
        ("层次\t专业\t占比", "表2 2023年招生占比"),
        ("高职专科\t电气自动化技术\t58.12%", "表2 2023年招生占比 层次\t专业\t占比"),
        ("表格之后的一句话。", ""),
    ]


@pytest.mark.parametrize(
    ("text", "measure", "shape"),
    [
        ("拥有的专利技术超过14300项。", "项", 1.0),  # the asked measure
        ("营收约 250 亿美元。", "项", 0.7),  # another amount
        ("于 1967年成立，2024 年 1月上市。", "项", 0.0),  # dates are not amounts
        ("开发周期约为 2 年。", "", 0.7),  # a duration is
        ("从七大维度提出支持措施。", "个", 0.7),  # Chinese numerals
        ("共有三家企业入选。", "家", 1.0),
        ("这是一个平台。", "个", 0.0),  # a bare 一 is an article
        ("规模达 2025 亿元。", "亿", 0.0),  # the question's own figure
    ],
)
def test_figure_shape(text: str, measure: str, shape: float) -> None:
    assert figure_shape(text, {"2025"}, measure) == shape


def test_asked_measure() -> None:
    assert asked_measure("美国应用材料公司手里握有多少项专利技术？") == "项"
    assert asked_measure("从几个维度提出了支持措施？") == "个"
    assert asked_measure("What is the market size?") == ""


def test_no_hits_no_answer(retriever: HybridRetriever) -> None:
    answer = ExtractiveAnswerer(retriever.embedder).answer("CoWoS是什么？", [], "zh")
    assert (answer.text, answer.used, answer.support) == ("", [], 0.0)


def test_dev_items_are_answered(retriever: HybridRetriever) -> None:
    answerer = ExtractiveAnswerer(retriever.embedder)
    right = 0
    elapsed: list[float] = []
    for item in _dev_items():
        lang: Language = "zh" if item.lang == "zh" else "en"
        hits = retriever.search(item.question, k=5).hits
        terms = expand_query(item.question, retriever.lexicon) if lang == "en" else []
        started = time.perf_counter()
        answer = answerer.answer(item.question, hits, lang, query_terms=terms)
        elapsed.append((time.perf_counter() - started) * 1000)
        right += answer_correct(item, answer.text, refused=False)
        assert 0.0 <= answer.support <= 1.0
        markers = [int(n) for n in re.findall(r"\[(\d+)\]", answer.text)]
        assert markers and all(1 <= n <= len(hits) for n in markers), answer.text
        assert set(markers) == set(answer.used)
        assert all(s in hits[p - 1].chunk.text for p, s in answer.sentences)
        if lang == "en":
            assert answer_language_ok(answer.text, "en"), answer.text
            assert answer.text.startswith("According to the documents")
        else:
            assert answer.text.startswith("根据资料，")
    print(f"\nextractive: {right}/15 correct; answer() p50 {statistics.median(elapsed):.0f} ms")
    assert right / 15 >= 0.6
