"""Does a quoted sentence answer what was asked? A lexical check of the question's focus.

Retrieval scores cannot tell "the documents hold this" from "the documents hold something
near it" (FINDINGS.md: top cosine AUC 0.69). Unanswerable analyst questions are near
misses: the passage names the company and the year but gives its market share, not the
net profit the question asks for; or it gives 2023's figure for a 2024 question. So the
check asks of the answer's own sentence (and its neighbours, which often carry the year
or the subject of a table row):
- the **attribute**: when the question asks for a common business or engineering metric
  (revenue, net profit, head count, price, capacity, yield, power, pitch, …), a word of
  that metric's family must be there;
- the **years** the question names must be there;
- a **figure** must be there when the question asks how much / how many.

The metric families are domain vocabulary, written from what analysts ask of industry
reports, in both languages; the passages are Chinese (sometimes English), so each family
lists the Chinese words and the English ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Final

# name → (question pattern, words that express the metric in a passage)
_FAMILIES: Final[dict[str, tuple[str, str]]] = {
    "revenue": (
        r"营业收入|营收|收入|销售额|销售收入|营业额|\brevenues?\b|\bsales\b|\bturnover\b",
        r"营业收入|营收|收入|销售额|销售收入|营业额|销售规模|revenue|sales",
    ),
    "profit": (
        r"净利润|净利|利润|盈利|亏损|\bprofits?\b|\bearnings\b|net income|\blosse?s?\b",
        r"净利润|净利|利润|盈利|亏损|profit|earnings|net income|loss",
    ),
    "headcount": (
        r"员工|雇员|职工|从业人员|人员|人数|\bemployees?\b|\bstaff\b|\bworkforce\b|"
        r"\bheadcount\b|how many people",
        r"员工|雇员|职工|从业|人员|人数|人才|employee|staff|workforce|headcount",
    ),
    "price": (
        r"价格|售价|单价|定价|报价|多少钱|\bprices?\b|\bcost per\b|\bpriced\b|\bcost\b",
        r"价格|售价|单价|定价|报价|价|元|美元|price|cost|\$",
    ),
    "capacity": (
        r"产能|月产|年产|产量|每月能|每年能|\bcapacity\b|per month|per year|\boutput\b",
        r"产能|月产|年产|产量|每月|每年|万片|capacity|per month|wafers",
    ),
    "utilisation": (r"利用率|稼动率|\butili[sz]ation\b", r"利用率|稼动率|utili[sz]ation"),
    "yield": (r"良率|良品率|\byields?\b", r"良率|良品率|yield"),
    "power": (
        r"功耗|功率|多少瓦|\bpower\b|\bwatts?\b|\bTDP\b",
        r"功耗|功率|\d\s*(?:W|瓦|mW|kW)\b|瓦|power|watt",
    ),
    "pitch": (r"间距|节距|\bpitch\b", r"间距|节距|pitch|μm|微米|\bum\b"),
    "rnd": (
        r"研发投入|研发支出|研发开支|研发费用|\bR&D\b",
        r"研发投入|研发支出|研发开支|研发费用|研发|R&D",
    ),
    "capex": (
        r"资本开支|资本支出|\bcapex\b|capital expenditure|capital spending",
        r"资本开支|资本支出|capex|capital expenditure|投资",
    ),
    "registered_capital": (r"注册资本|registered capital", r"注册资本|registered capital"),
    # A node is a figure (28nm, 3 纳米) or a foundry's node name (N2, N3E). 工艺 and 制程
    # alone do not name one: "达到同工艺代下国际先进水平" says nothing of which node (dev:
    # five near-miss questions on chips whose node the documents never give).
    "process_node": (
        r"多少纳米|几纳米|\bnm\b|process node|what node|制程节点|工艺节点",
        r"\d\s*(?:nm|纳米)|\bN\d{1,2}[PEA]?\b",
    ),
    "market_size": (
        r"市场规模|市场容量|market size|size of the .{0,40}market|market (?:was|is) worth",
        r"市场规模|市场容量|规模|market size|market",
    ),
    "plants": (
        r"几座|多少座|多少家工厂|几家工厂|工厂数|\bplants\b|\bfactories\b|\bfabs\b",
        r"工厂|厂区|基地|生产线|产线|plant|factor|fab",
    ),
}

# name → (question asking a figure in the unit, the figure written in that unit). "多少瓦"
# is answered by "135W", not by "功耗降低40%", which shows the power family and a figure.
# 第几名 asks a rank, not a head count.
# A figure: a digit or a Chinese numeral (三百, 1.2万, PDF text's "30 万"), then the unit.
_NUMERAL: Final = (
    r"(?:\d|[一二两三四五六七八九十])(?:[\d.,一二两三四五六七八九十百千万亿]|[ \u00a0\u3000])*"
)
_UNITS: Final[dict[str, tuple[str, str]]] = {
    "nanometres": (r"(?<!第)(?:多少|几)纳米|how many nanomet", rf"{_NUMERAL}(?:nm|纳米)"),
    "micrometres": (
        r"(?<!第)(?:多少|几)微米|how many (?:micromet|microns)",
        rf"{_NUMERAL}(?:μm|um|微米)",
    ),
    "millimetres": (r"(?<!第)(?:多少|几)毫米|how many millimet", rf"{_NUMERAL}(?:mm|毫米)"),
    "watts": (
        r"(?<!第)(?:多少|几)(?:毫|千)?瓦|how many (?:milli|kilo)?watts",
        rf"{_NUMERAL}(?:[mkM]?W\b|(?:毫|千|兆)?瓦)",
    ),
    "grams": (
        r"(?<!第)(?:多少|几)(?:千|毫)?克|how many (?:kilo)?grams",
        rf"{_NUMERAL}(?:k?g\b|(?:千|毫)?克|公斤)",
    ),
    "wafers": (r"(?<!第)(?:多少|几)[万千]?片|how many wafers", rf"{_NUMERAL}片|wafers"),
    "people": (
        r"(?<!第)(?:多少|几)[万千]?(?:人(?!民币)|名)|how many (?:people|employees|staff)",
        rf"{_NUMERAL}(?:人|名)|people|employees",
    ),
    "money": (
        r"(?<!第)(?:多少|几)[十百千万亿]*(?:美|港|欧|日)?元|how many (?:yuan|dollars)",
        rf"{_NUMERAL}(?:美|港|欧|日|人民币)?元|\$\s*\d|\d\s*(?:USD|RMB)",
    ),
}

_WANTS_FIGURE = re.compile(
    r"多少|几[个座家项颗片台年]?|比例|占比|份额|\bhow (?:much|many|large|big)\b|"
    r"\bwhat (?:share|percentage|proportion|price|stake|size)\b",
    re.IGNORECASE,
)
_EXPLANATORY = re.compile(
    r"为何|为什么|如何|怎样|怎么|原因|\bwhy\b|\bhow (?:do|does|did|can|could|will|is|are)\b",
    re.IGNORECASE,
)
# A year, not the tail of a product code (9A2000).
_YEAR = re.compile(r"(?<![0-9A-Za-z])((?:19|20)\d{2})(?!\d)")
_DIGIT = re.compile(r"\d")
# A Latin word, digit-led ones included: product codes start with digits (910C, 3B6000).
_LATIN_WORD = re.compile(r"(?<![A-Za-z0-9])\d*[A-Za-z][A-Za-z0-9\-]*")
# A figure and its unit (5nm, 2.5D, 135W): the question's wording, not a name.
_FIGURE_WITH_UNIT = re.compile(
    r"\d+(?:\.\d+)?(?:[kmgtp]?(?:b|hz|w|v|a|g|m)|nm|um|μm|mm|cm|d|x|k|tops|flops)",
    re.IGNORECASE,
)
COMMON_WORD: Final = 100  # jieba's dictionary count above which a word is everyday Chinese


@dataclass(frozen=True)
class Focus:
    """What a question asks for, as far as a passage's words can show it."""

    families: tuple[str, ...] = ()
    years: tuple[str, ...] = ()
    figure: bool = False
    units: tuple[str, ...] = ()  # the units the figure is asked in (多少纳米, how many watts)
    # Rare names (a company, a product) the passage must hold; each is a group of
    # alternatives (an English name and its Chinese renderings), any one of which will do.
    anchors: tuple[tuple[str, ...], ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.families or self.years or self.figure or self.units or self.anchors)


def question_focus(question: str, anchors: Sequence[tuple[str, ...]] = ()) -> Focus:
    """The metric families, years and figure a question asks about, and its anchors."""
    families: tuple[str, ...] = ()
    # "Why can chiplets raise yield?" asks for a reason, not for the yield.
    if not _EXPLANATORY.search(question):
        families = tuple(
            name for name, (asked, _) in _FAMILIES.items() if re.search(asked, question, re.I)
        )
    years = tuple(dict.fromkeys(_YEAR.findall(question)))
    figure = bool(_WANTS_FIGURE.search(question))
    units = tuple(name for name, (asked, _) in _UNITS.items() if re.search(asked, question, re.I))
    # A name is held to only when a value is asked of it: "what was ASE's 2024 revenue"
    # must be answered from a passage about ASE, while "which broker tutors 朗迅's IPO"
    # may be answered by a passage that calls the company by another name (dev split:
    # this halves wrong refusals and refuses the same unanswerable questions).
    return Focus(
        families=families,
        years=years,
        figure=figure,
        units=units,
        anchors=tuple(anchors) if figure or families else (),
    )


def rare_anchors(
    question: str,
    tokens: Sequence[str],
    document_frequency: Callable[[str], int],
    general_frequency: Callable[[str], int],
    max_df: int,
) -> tuple[str, ...]:
    """The question's names: name-like tokens that few passages hold (1..max_df).

    A company or product named in the question (盛合晶微, Foveros) is what a near-miss
    passage about another company lacks. Name-like means: a Chinese token that is not a
    common word of Chinese at large (jieba's general dictionary count below COMMON_WORD:
    大约, 文章, 比例 are rare in these documents but are not names), or a Latin token
    written with a capital or a digit in the question (ASE, CoWoS, B200; an English
    question's plain words are rare in Chinese documents too). Tokens no passage holds
    are left out: mostly the question's own wording (手里, 握有). A token inside a longer
    anchor (晶微 in 盛合晶微) adds nothing.
    """
    cased = {
        w.lower()
        for w in _LATIN_WORD.findall(question)
        if (w != w.lower() or _DIGIT.search(w)) and not _FIGURE_WITH_UNIT.fullmatch(w)
    }
    picked = []
    for t in dict.fromkeys(tokens):
        if len(t) < 2 or not 0 < document_frequency(t) <= max_df:
            continue
        if t.isascii():
            if t in cased and not t.isdigit():
                picked.append(t)
        elif not _DIGIT.search(t) and general_frequency(t) < COMMON_WORD:
            picked.append(t)
    return tuple(t for t in picked if not any(t != o and t in o for o in picked))


_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]{2,}")


def quoted_names(question: str) -> tuple[str, ...]:
    """The Chinese runs of an English question: names quoted as the documents write them
    (大族激光, 长鑫存储 (CXMT)). Held to whatever their document frequency, unlike
    `rare_anchors`: a quoted name that no passage holds (dev: "How many 12-inch wafers a
    month does 长鑫存储 (CXMT) produce?") says the documents are about someone else."""
    return tuple(dict.fromkeys(_CJK_RUN.findall(question)))


def focus_misses(
    focus: Focus,
    window: str,
    passage_tokens: Collection[str] = (),
    passage_text: str = "",
    heading: str = "",
) -> tuple[str, ...]:
    """What of `focus` the text `window` (and, for anchors, its passage) does not show.

    An anchor alternative counts when it is one of the passage's tokens or, for a
    Chinese rendering that jieba may cut differently, a substring of its text. A year
    also counts in the passage's `heading` (its document title and section path), which
    dates all of it: "头豹2025年先进封装报告提到…" is answered from "2025年中国半导体先进封装
    行业研究" (dev split; letting the metric count there too answered an unanswerable one).
    """
    # Compared without spaces: PDF text writes "AR 眼镜" where jieba cut "ar眼镜".
    passage_squeezed = _squeeze(passage_text)
    misses: list[str] = [
        f"name {group[0]}"
        for group in focus.anchors
        if not any(
            a in passage_tokens or (not a.isascii() and _squeeze(a) in passage_squeezed)
            for a in group
        )
    ]
    for name in focus.families:
        if not re.search(_FAMILIES[name][1], window, re.I):
            misses.append(name)
    misses.extend(f"year {y}" for y in focus.years if y not in window and y not in heading)
    unit_misses = [
        f"unit {name}" for name in focus.units if not re.search(_UNITS[name][1], window, re.I)
    ]
    misses.extend(unit_misses)
    # A figure in the asked unit is a figure, whatever its numerals (三十毫瓦).
    shown_in_unit = bool(focus.units) and not unit_misses
    if (
        focus.figure
        and not shown_in_unit
        and not _DIGIT.search(window)
        and not _has_chinese_numeral(window)
    ):
        misses.append("figure")
    return tuple(misses)


_CHINESE_NUMERAL = re.compile(
    r"[一二两三四五六七八九十百千万亿]+[个座家项颗片台年倍成大类种名人条批%]"
)


def _squeeze(text: str) -> str:
    return _SPACE.sub("", text)


_SPACE = re.compile(r"\s+")


def _has_chinese_numeral(text: str) -> bool:
    return bool(_CHINESE_NUMERAL.search(text))
