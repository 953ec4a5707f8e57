"""What the pipeline does with a generation: grounding, the extractive fallback, and the
compact context. The retriever, embedder and extractive answerer are the real ones over the
corpus index; the generator is scripted, since a real model cannot be made to invent a
figure on demand."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from index.lexicon import expand_query
from service.answer import AnswerConfig, AnswerPipeline, question_anchors, question_coverage
from service.language import answer_language_ok
from service.llm.base import GenerationOptions, Message
from service.llm.extractive import ExtractiveAnswerer
from service.prompt import compact_passage
from service.settings import Settings
from service.wiring import make_embedder, make_quote_dictionary, make_retriever

pytestmark = pytest.mark.slow
QUESTION = "中国大陆封测三大厂是哪几家？"


class ScriptedGenerator:
    """Answers every prompt with one fixed text; records the prompts it saw."""

    name = "scripted"
    can_stream = True

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.prompts: list[str] = []

    def stream(self, messages: Sequence[Message], options: GenerationOptions) -> Iterator[str]:
        self.prompts.append(messages[-1].content)
        yield self.reply

    def complete(self, messages: Sequence[Message], options: GenerationOptions) -> str:
        return "".join(self.stream(messages, options))


@pytest.fixture(scope="module")
def parts(corpus_home: Path) -> tuple[Settings, ExtractiveAnswerer]:
    settings = Settings(home=corpus_home, llm="extractive")
    return settings, ExtractiveAnswerer(make_embedder(settings))


def _pipeline(
    parts: tuple[Settings, ExtractiveAnswerer], reply: str, **config: object
) -> tuple[AnswerPipeline, ScriptedGenerator]:
    settings, extractive = parts
    retriever = make_retriever(settings)
    generator = ScriptedGenerator(reply)
    pipeline = AnswerPipeline(
        retriever=lambda: retriever,
        generator=lambda name: generator,
        extractive=lambda: extractive,
        config=AnswerConfig(translate_english=False, **config),  # type: ignore[arg-type]
    )
    return pipeline, generator


def test_a_grounded_generation_is_kept(parts: tuple[Settings, ExtractiveAnswerer]) -> None:
    pipeline, _ = _pipeline(parts, "长电科技、通富微电和华天科技是三大封测厂[1]。")
    answer = pipeline.answer(QUESTION, backend="local")
    assert not answer.refused and answer.fallback is None
    assert answer.answer.startswith("长电科技") and answer.citations


def test_a_wrong_script_after_the_retry_falls_back(
    parts: tuple[Settings, ExtractiveAnswerer],
) -> None:
    pipeline, generator = _pipeline(parts, "JCET, Tongfu, Huatian.[1]")
    answer = pipeline.answer(QUESTION, backend="local")
    assert len(generator.prompts) == 2  # the answer and one retry asking for Chinese
    assert answer.fallback == "extractive" and answer.answer.startswith("根据资料，")
    assert answer_language_ok(answer.answer, "zh")


def test_an_invented_figure_falls_back_to_the_extractive_quote(
    parts: tuple[Settings, ExtractiveAnswerer],
) -> None:
    invented = "三大封测厂2024年合计营收为98765.4亿元[1]。"
    pipeline, _ = _pipeline(parts, invented)
    answer = pipeline.answer(QUESTION, backend="local")
    extractive = pipeline.answer(QUESTION, backend="extractive")
    assert answer.dropped_claims == (invented,)
    assert answer.fallback == "extractive" and answer.backend == "local"
    assert not answer.refused and answer.answer == extractive.answer
    assert [c.hit.chunk.chunk_id for c in answer.citations] == [
        c.hit.chunk.chunk_id for c in extractive.citations
    ]
    assert answer.to_dict()["grounding"] == {"dropped": [invented], "fallback": "extractive"}


def test_a_model_refusal_falls_back_when_the_code_found_support(
    parts: tuple[Settings, ExtractiveAnswerer],
) -> None:
    pipeline, _ = _pipeline(parts, "资料中没有找到相关信息。")
    answer = pipeline.answer(QUESTION, backend="local")
    assert not answer.refused and answer.fallback == "extractive"


def test_without_the_fallback_an_ungrounded_answer_is_refused(
    parts: tuple[Settings, ExtractiveAnswerer],
) -> None:
    invented = "三大封测厂合计营收为98765.4亿元[1]。"
    pipeline, _ = _pipeline(parts, invented, extractive_fallback=False)
    answer = pipeline.answer(QUESTION, backend="local")
    assert answer.refused and answer.fallback is None and answer.dropped_claims


def test_the_prompt_keeps_the_extractive_picks(
    parts: tuple[Settings, ExtractiveAnswerer],
) -> None:
    pipeline, generator = _pipeline(parts, "长电科技[1]。", passage_chars=60)
    prepared = pipeline.prepare(QUESTION, backend="local")
    pipeline.answer(QUESTION, backend="local")
    prompt = generator.prompts[-1]
    for position, sentence in prepared.extracted.sentences:
        if position <= pipeline.config.llm_passages:
            assert sentence.strip()[:20] in prompt


def test_compact_passage_puts_the_picked_sentence_first() -> None:
    text = "甲公司成立于2001年。乙公司的营收为10亿元。丙公司生产设备和零件。"
    by_words = compact_passage(text, "哪家公司生产设备？", 10)
    assert by_words == "丙公司生产设备和零件。"
    picked = compact_passage(text, "哪家公司生产设备？", 10, first=["乙公司的营收为10亿元。"])
    assert picked == "乙公司的营收为10亿元。"


def test_compact_passage_takes_table_rows_apart_and_caps_a_long_sentence() -> None:
    table = "表1 各公司营收\n公司\t营收\n甲公司\t10亿元\n乙公司\t20亿元\n丙公司\t30亿元"
    # Before, the whole table was one "sentence" and went in whole.
    shown = compact_passage(table, "乙公司营收多少？", 12, first=["乙公司\t20亿元"])
    assert shown == "公司：乙公司\t营收：20亿元"  # with its column names (passage_labels.py)
    run_on = "甲" * 50 + "。"
    assert compact_passage(run_on + "乙。", "甲？", 10) == "甲" * 20 + "…"


@pytest.mark.parametrize(
    "reply",
    ["The figure was not found in the provided passages [1].", "资料中未提及这一数据[1]。"],
)
def test_a_model_declining_in_its_own_words_falls_back(
    parts: tuple[Settings, ExtractiveAnswerer], reply: str
) -> None:
    pipeline, _ = _pipeline(parts, reply)
    answer = pipeline.answer(QUESTION, backend="local")
    assert not answer.refused and answer.fallback == "extractive"


def test_a_garbled_translation_does_not_lower_english_coverage(
    parts: tuple[Settings, ExtractiveAnswerer],
) -> None:
    settings, _ = parts
    retriever = make_retriever(settings)
    question = "Which three companies are mainland China's top packaging and testing firms?"
    terms = expand_query(question, retriever.lexicon)
    hits = retriever.search(question, k=5).hits
    by_terms = question_coverage(retriever, question, terms, "", hits)
    garbled = question_coverage(retriever, question, terms, "火星探测器的轨道参数", hits)
    assert by_terms > 0 and garbled == by_terms


def test_english_coverage_counts_the_dictionary_translations(
    parts: tuple[Settings, ExtractiveAnswerer],
) -> None:
    settings, _ = parts
    retriever = make_retriever(settings.model_copy(update={"query_dictionary": True}))
    assert retriever.dictionary is not None
    # Neither the lexicon nor the index knows "Loongson"; CC-CEDICT has 龙芯.
    question = "In what year did Loongson start pre-research on GPUs?"
    hits = retriever.search(question, k=5).hits
    assert "龙芯" in hits[0].chunk.text
    with_dictionary = question_coverage(retriever, question, [], "", hits)
    retriever.dictionary = None
    without = question_coverage(retriever, question, [], "", hits)
    # Answered with the dictionary, refused on coverage without it.
    assert with_dictionary > AnswerConfig().refusal_coverage_en > without


def _extractive_pipeline(
    parts: tuple[Settings, ExtractiveAnswerer],
    *,
    quote_dictionary: bool,
    quote_asked_words: bool = True,
) -> AnswerPipeline:
    settings, extractive = parts
    retriever = make_retriever(settings)
    assert retriever.dictionary is None  # XINDA_QUERY_DICTIONARY stays off
    return AnswerPipeline(
        retriever=lambda: retriever,
        generator=lambda name: ScriptedGenerator(""),
        extractive=lambda: extractive,
        quote_dictionary=lambda: make_quote_dictionary(
            settings.model_copy(update={"quote_dictionary": quote_dictionary})
        ),
        config=AnswerConfig(quote_asked_words=quote_asked_words),
    )


def test_a_chinese_quote_is_chosen_by_the_words_naming_what_is_asked(
    parts: tuple[Settings, ExtractiveAnswerer],
) -> None:
    # The sentence before the answer repeats the question's subject (日本爱德万测试);
    # the one after holds the 研发中心 asked for.
    question = "日本爱德万测试在全球一共建了几个研发中心？"
    asked = _extractive_pipeline(parts, quote_dictionary=False).answer(question)
    plain = _extractive_pipeline(parts, quote_dictionary=False, quote_asked_words=False).answer(
        question
    )
    assert not asked.refused and "12个研发中心" in asked.answer.replace(" ", "")
    assert "12个研发中心" not in plain.answer.replace(" ", "")


@pytest.mark.parametrize(
    "question",
    [
        "日本爱德万测试在全球一共建了几个研发中心？",
        "昇腾910C芯片的功耗是多少瓦？",  # dev near misses: the documents do not say
        "龙芯3C6000处理器采用的是多少纳米的制造工艺？",
        "2018年世界杯冠军是哪个国家？",
    ],
)
def test_the_asked_words_do_not_decide_whether_to_answer(
    parts: tuple[Settings, ExtractiveAnswerer], question: str
) -> None:
    asked = _extractive_pipeline(parts, quote_dictionary=False).prepare(question)
    plain = _extractive_pipeline(parts, quote_dictionary=False, quote_asked_words=False).prepare(
        question
    )
    assert asked.confident == plain.confident and asked.hits == plain.hits


def test_an_english_quote_is_chosen_from_the_dictionary_search(
    parts: tuple[Settings, ExtractiveAnswerer],
) -> None:
    # Neither the lexicon nor the index knows "Loongson"; CC-CEDICT has 龙芯.
    question = "In what year did Loongson start pre-research on GPUs?"
    wide = _extractive_pipeline(parts, quote_dictionary=True).answer(question)
    plain = _extractive_pipeline(parts, quote_dictionary=False).answer(question)
    assert not wide.refused and "2016" in wide.answer
    assert "龙芯" in wide.citations[0].hit.chunk.text
    assert "quote_search" in wide.timings_ms and "quote_search" not in plain.timings_ms
    assert "2016" not in plain.answer  # the plain search finds no passage naming 龙芯


def test_an_english_word_whose_rendering_is_everywhere_is_no_name(
    parts: tuple[Settings, ExtractiveAnswerer],
) -> None:
    settings, _ = parts
    retriever = make_retriever(settings)
    max_df = AnswerConfig().anchor_max_df
    # "China" is rare in Chinese passages, 中国 is not; Coherent is rare either way.
    question = "How many wafers does Coherent make in China?"
    names = {group[0] for group in question_anchors(retriever, question, max_df)}
    assert names == {"coherent"}


def test_the_dictionary_renderings_also_choose_the_quoted_sentence(
    parts: tuple[Settings, ExtractiveAnswerer],
) -> None:
    # "breakthrough point" and "software" reach the sentence only through CC-CEDICT
    # (突破口, 软件); the lexicon's terms alone pick another sentence of the passage.
    question = (
        "Which industry did India choose as the breakthrough point for developing its "
        "electronics manufacturing sector?"
    )
    wide = _extractive_pipeline(parts, quote_dictionary=True).answer(question)
    assert not wide.refused and "软件业" in wide.answer


@pytest.mark.parametrize(
    "question",
    [
        "What is the capital of Australia?",  # the dictionary search quotes a passage
        "2024年全球集成电路市场规模是多少亿元？",  # Chinese: no second search at all
    ],
)
def test_the_dictionary_search_does_not_decide_whether_to_answer(
    parts: tuple[Settings, ExtractiveAnswerer], question: str
) -> None:
    wide = _extractive_pipeline(parts, quote_dictionary=True).prepare(question)
    plain = _extractive_pipeline(parts, quote_dictionary=False).prepare(question)
    assert wide.confident == plain.confident
    assert wide.topicality == plain.topicality and wide.coverage == plain.coverage
    if question.isascii():
        assert not wide.confident
    else:
        assert wide.hits == plain.hits and wide.extracted.text == plain.extracted.text


def test_a_quoted_chinese_name_no_passage_holds_is_refused(
    parts: tuple[Settings, ExtractiveAnswerer],
) -> None:
    # With the query dictionary the best sentence shows a capacity, so only the quoted
    # name, which no passage holds, can refuse it.
    settings, extractive = parts
    with_dictionary = (settings.model_copy(update={"query_dictionary": True}), extractive)
    pipeline, _ = _pipeline(with_dictionary, "")
    answer = pipeline.answer(
        "How many 12-inch wafers per month does 长鑫存储 (CXMT) produce?", backend="extractive"
    )
    assert answer.refused


@pytest.mark.parametrize(
    ("question", "reply"),
    [
        (QUESTION, "This is mentioned in [1] and [2]."),
        # What survives the grounding check is only a pointer.
        (QUESTION, "三大封测厂营收为98765.4亿元[1]。详见资料[1]。"),
        ("2024年全球存储芯片市场规模是多少？", "存储芯片市场规模很大[1]。"),
        # Markers where the names should be: the answer restates the question.
        (
            "Which companies are China's top three packaging and testing firms?",
            "China's top three packaging and testing firms are [1], [2] and [3].",
        ),
    ],
)
def test_a_generation_that_answers_nothing_falls_back(
    parts: tuple[Settings, ExtractiveAnswerer], question: str, reply: str
) -> None:
    pipeline, _ = _pipeline(parts, reply)
    answer = pipeline.answer(question, backend="local")
    assert not answer.refused and answer.fallback == "extractive"
    assert answer.answer == pipeline.answer(question, backend="extractive").answer


def test_an_off_topic_question_is_refused_on_similarity(
    parts: tuple[Settings, ExtractiveAnswerer],
) -> None:
    # "largest" → 最大 is the question's only word the documents know, so it covers 1.0;
    # no passage is near it in embedding space.
    question = "Which planet is the largest in the solar system?"
    on, _ = _pipeline(parts, "unused", refusal_similarity_en=0.765)
    prepared = on.prepare(question, backend="extractive")
    assert prepared.coverage >= AnswerConfig().refusal_coverage_en
    assert prepared.topicality < 0.765
    assert not prepared.confident
    off, _ = _pipeline(parts, "unused", refusal_similarity_en=0.0)
    assert off.prepare(question, backend="extractive").confident


def test_labels_reach_the_prompt_and_the_grounding_check(
    parts: tuple[Settings, ExtractiveAnswerer],
) -> None:
    # The corpus lists 2016—2020 output as one 分别 list; the year of each figure is a label
    # (service/passage_labels.py): the model reads it off, and "2019年" counts as grounded
    # although the source writes only "2016—2020年".
    question = "我国电子产品制造设备哪一年的产量是98.74万台（套）？"
    reply = "2019年我国电子产品制造设备的产量为98.74万台（套）[1]。"
    pipeline, generator = _pipeline(parts, reply)
    answer = pipeline.answer(question, backend="local")
    assert "2019年：98.74万台（套）" in generator.prompts[-1]
    assert answer.fallback is None and answer.answer.startswith("2019年")
    assert not answer.dropped_claims

    pipeline, generator = _pipeline(parts, reply, passage_labels=False)
    answer = pipeline.answer(question, backend="local")
    assert "2019年：" not in generator.prompts[-1]
    assert answer.dropped_claims  # 2019 is nowhere in the source's words


def test_an_english_question_is_shown_with_its_translation() -> None:
    from service.prompt import answer_messages

    shown = answer_messages("Who?", [], "en", translation="谁？")[-1].content
    assert "问题：Who?（中文：谁？）" in shown
    assert "中文" not in answer_messages("Who?", [], "en")[-1].content
