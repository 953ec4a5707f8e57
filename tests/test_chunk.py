"""Chunking: sentence boundaries, headings, tables, limits, and properties on random text."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from corpus_checks import squash
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ingest.chunk import ChunkSettings, chunk_blocks
from ingest.clean import clean_lines
from ingest.document import BlockKind, SourceLine
from ingest.sentences import split_long_sentence, split_sentences

Counter = Callable[[str], int]
SMALL = ChunkSettings(target_tokens=60, max_tokens=90, min_tokens=12, overlap_sentences=1)


def _chunks(texts: list[str], count: Counter, cfg: ChunkSettings = SMALL):  # type: ignore[no-untyped-def]
    blocks = clean_lines([SourceLine(t, i + 1) for i, t in enumerate(texts)])
    return chunk_blocks(
        blocks, doc_id="d", source="s.txt", title="t", count_tokens=count, settings=cfg
    )


def test_split_sentences_covers_text_and_keeps_decimals() -> None:
    text = "市场规模达14.6亿元。同比增长3.2%！是否持续？ It grew 5.5 times. Next one"
    spans = split_sentences(text)
    assert "".join(text[s:e] for s, e in spans) == text
    parts = [text[s:e].strip() for s, e in spans]
    assert parts == [
        "市场规模达14.6亿元。",
        "同比增长3.2%！",
        "是否持续？",
        "It grew 5.5 times.",
        "Next one",
    ]


def test_one_overlong_sentence_is_cut_at_clauses(count_tokens: Counter) -> None:
    sentence = "，".join(f"第{i}项技术包括晶圆级封装和倒装芯片" for i in range(80)) + "。"
    spans = split_long_sentence(sentence, 100, count_tokens)
    assert "".join(sentence[s:e] for s, e in spans) == sentence
    assert all(count_tokens(sentence[s:e]) <= 100 for s, e in spans)
    assert all(sentence[s:e].endswith(("，", "。")) for s, e in spans)


def test_heading_starts_chunk_and_gives_section(count_tokens: Counter) -> None:
    chunks = _chunks(
        ["一、前言", "先进封装能够提升芯片性能。", "（一）市场规模", "2024年市场规模为14.6亿元。"],
        count_tokens,
        ChunkSettings(target_tokens=200, max_tokens=300, min_tokens=1),
    )
    assert [c.section for c in chunks] == ["一、前言", "一、前言 > （一）市场规模"]
    assert chunks[1].text.startswith("（一）市场规模")
    assert (chunks[1].line_start, chunks[1].line_end) == (3, 4)


def test_large_table_parts_repeat_header(count_tokens: Counter) -> None:
    rows = ["厂商\t技术平台\t市场份额"] + [
        f"厂商{i}号\t晶圆级封装平台第{i}代\t{i}.5%" for i in range(40)
    ]
    chunks = _chunks(rows, count_tokens)
    assert len(chunks) > 2
    for chunk in chunks:
        assert chunk.text.startswith("厂商\t技术平台\t市场份额")
        assert chunk.tokens <= SMALL.max_tokens
    body = [r for c in chunks for r in c.text.split("\n")[1:]]
    assert body == rows[1:]  # every row once, in order


def test_small_table_stays_whole_with_caption(count_tokens: Counter) -> None:
    text = [
        "先进封装发展很快，各厂商纷纷布局。" * 3,
        "主要厂商对比",
        "厂商\t份额",
        "甲\t30%",
        "乙\t20%",
    ]
    chunks = _chunks(text, count_tokens)
    table_chunk = next(c for c in chunks if "甲\t30%" in c.text)
    assert "主要厂商对比\n厂商\t份额\n甲\t30%\n乙\t20%" in table_chunk.text


def test_overlap_repeats_last_sentence(count_tokens: Counter) -> None:
    sentences = [f"第{i}句讲述了封装技术的一个重要方面和它的市场影响。" for i in range(12)]
    chunks = _chunks(["".join(sentences)], count_tokens)
    assert len(chunks) >= 2
    last_of_first = chunks[0].text.split("。")[-2] + "。"
    assert chunks[1].text.startswith(last_of_first)


def test_chunk_ids_are_stable_and_unique(count_tokens: Counter) -> None:
    text = ["一、前言", "先进封装能够提升芯片性能。" * 20, "二、市场", "规模为14.6亿元。" * 20]
    first = _chunks(text, count_tokens)
    second = _chunks(text, count_tokens)
    assert [c.chunk_id for c in first] == [c.chunk_id for c in second]
    assert len({c.chunk_id for c in first}) == len(first)


def test_settings_reject_inconsistent_sizes() -> None:
    with pytest.raises(ValueError):
        ChunkSettings(target_tokens=500, max_tokens=100)


# -- properties on random Chinese / English text -----------------------------------------
_ZH = st.sampled_from(list("先进封装晶圆芯片市场规模技术产业发展中国企业研究的了和在是"))
_PUNCT = st.sampled_from(["。", "，", "！", "？", "；", "、", ". ", ", ", " "])
_WORD = st.sampled_from(["chiplet", "CoWoS", "TSV", "14.6%", "2024", "HBM", "Flip Chip"])
_PIECE = st.one_of(_ZH, _ZH, _ZH, _PUNCT, _WORD)
_LINE = st.lists(_PIECE, min_size=0, max_size=120).map("".join)
_DOC = st.lists(
    st.one_of(_LINE, _LINE, _LINE, st.just(""), _LINE.map(lambda s: s[:10] + "\t" + s[10:20])),
    min_size=1,
    max_size=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_DOC, target=st.integers(20, 120))
# A table split in two: the second part repeats the header row 先先先.
@example(
    doc=["先", "先" * 24, "先先先\t", "先先先先\t", "先" * 9 + "\t", "先" * 10 + "\t先先先"],
    target=25,
)
def test_properties_no_loss_limits_order(
    count_tokens: Counter, doc: list[str], target: int
) -> None:
    cfg = ChunkSettings(
        target_tokens=target,
        max_tokens=target + 40,
        min_tokens=min(10, target),
        overlap_sentences=0,
    )
    blocks = clean_lines([SourceLine(t, i + 1) for i, t in enumerate(doc)])
    chunks = chunk_blocks(
        blocks, doc_id="d", source="s", title="t", count_tokens=count_tokens, settings=cfg
    )
    # No text lost and order kept: chunks read in order spell the cleaned document, once the
    # header row a split table repeats at the top of each later part is set aside.
    table_heads = {
        b.text.strip()
        for i, b in enumerate(blocks)
        if b.kind is BlockKind.TABLE_ROW
        and (i == 0 or blocks[i - 1].kind is not BlockKind.TABLE_ROW)
    }
    spelled, previous_end = "", 0
    for chunk in chunks:
        first, _, rest = chunk.text.partition("\n")
        # The repeat carries its header's line, above where the previous part ended.
        repeated = first.strip() in table_heads and chunk.line_start < previous_end and rest
        spelled += rest if repeated else chunk.text
        previous_end = chunk.line_end
    assert squash(spelled) == squash("".join(b.text for b in blocks))
    for chunk in chunks:
        assert chunk.tokens <= cfg.max_tokens + 8, chunk.text  # +8: joins re-tokenise
        assert 1 <= chunk.line_start <= chunk.line_end <= len(doc)
    starts = [c.line_start for c in chunks]
    assert starts == sorted(starts)
