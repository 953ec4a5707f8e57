"""Cleaning of PDF-converted text: joins, headings, tables, markup, boilerplate."""

from __future__ import annotations

from ingest.clean import clean_lines, ends_sentence, heading_level
from ingest.document import BlockKind, SourceLine
from ingest.normalize import join_spaced_thousands, latex_to_text, normalize_line


def _lines(*texts: str) -> list[SourceLine]:
    return [SourceLine(t, i + 1) for i, t in enumerate(texts)]


WRAPPED = [
    "电子制造产业是我国战略性、基础性、先导性支柱产业之一，",
    "",
    "2020年规模以上电子制造业实现营业收入，同比增长百分之八",
    "",
    "点三，利润总额增长，产业规模持续扩大并保持较快增长速度",
    "",
    "态势。",
]


def test_wrapped_sentence_is_rejoined_with_its_line_map() -> None:
    blocks = clean_lines(_lines(*WRAPPED))
    assert len(blocks) == 1
    block = blocks[0]
    assert block.kind is BlockKind.PARAGRAPH
    assert block.text.endswith("增长速度态势。")
    assert block.lines == (1, 3, 5, 7)
    start = block.text.index("点三")
    assert block.line_span(start, start + 2) == (5, 5)


def test_headings_lists_and_tables_are_not_glued() -> None:
    blocks = clean_lines(
        _lines(
            "一、前言",
            "先进封装技术作为连接芯片设计与应用的关键环节，不仅能够显著提升芯片性能",
            "- 梳理不同类型先进封装技术",
            "作用\t说明",
            "物理保护\t防止机械损伤",
            "（一）市场规模",
            "1.2 技术路线",
            "第三章 产业链",
            "## 天津市",
            "天津立足自身产业基础。",
        )
    )
    kinds = [b.kind for b in blocks]
    assert kinds == [
        BlockKind.HEADING,
        BlockKind.PARAGRAPH,
        BlockKind.LIST_ITEM,
        BlockKind.TABLE_ROW,
        BlockKind.TABLE_ROW,
        BlockKind.HEADING,
        BlockKind.HEADING,
        BlockKind.HEADING,
        BlockKind.HEADING,
        BlockKind.PARAGRAPH,
    ]
    assert blocks[8].text == "天津市"


def test_short_unpunctuated_line_before_text_is_a_heading() -> None:
    blocks = clean_lines(_lines("研究背景", "", "先进封装技术能够显著提升芯片性能。"))
    assert blocks[0].kind is BlockKind.HEADING


def test_repeated_page_furniture_is_kept_once() -> None:
    furniture = "来源：公司公告，公司官网，头豹研究院"
    lines = []
    for n in range(4):
        lines += [f"第{n}页的正文内容在这里，讲述封装技术。", furniture]
    blocks = clean_lines(_lines(*lines))
    texts = [b.text for b in blocks]
    assert texts.count(furniture) == 1
    assert sum("正文内容" in t for t in texts) == 4


def test_back_to_back_duplicate_line_is_dropped() -> None:
    blocks = clean_lines(_lines("先进封装引领创新。", "先进封装引领创新。"))
    assert len(blocks) == 1


def test_markup_is_stripped_but_chinese_punctuation_kept() -> None:
    line = "<p>**35家**企业&amp;机构，共计 14 300 片（Ｈ２Ｏ）</p>"
    assert normalize_line(line) == "35家企业&机构，共计 14300 片（H2O）"


def test_latex_becomes_readable() -> None:
    text = r"$n_{2Si} = 7.2 \times 10^{-18} \text{ m}^2$"
    assert latex_to_text(text) == "n_2Si = 7.2 × 10^-18 m^2"


def test_spaced_thousands_joined_but_not_years_or_decimals() -> None:
    assert join_spaced_thousands("共 14 300 片") == "共 14300 片"
    assert join_spaced_thousands("2020 年 76 个") == "2020 年 76 个"
    assert join_spaced_thousands("12.5 300") == "12.5 300"


def test_sentence_end_and_heading_level_rules() -> None:
    assert ends_sentence("增长了14.6%。")
    assert ends_sentence("He said “yes.”")
    assert not ends_sentence("规模为14.")
    assert not ends_sentence("实现营业收入")
    assert heading_level("一、前言") == 2
    assert heading_level("（二）发展现状") == 3
    assert heading_level("2.3.1 技术路线") == 4
    assert heading_level("2025年市场规模达到14.6亿元，同比增长。") == 0
