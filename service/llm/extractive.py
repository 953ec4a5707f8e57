"""The answerer without a generator: quote the retrieved sentences that best answer.

Each candidate unit (a sentence, or a whole table row / list line) of the top hits is
scored by a weighted mix of
- keyword coverage: the share of the question's tokens (jieba search mode; for English
  questions the lexicon's Chinese terms) the unit contains, longer tokens counting more;
- embedding cosine with the question, min-max scaled over the candidates;
- number overlap: the question's figures (years, 10万片) found in the unit;
- answer shape: a unit with a figure when the question asks for one (多少, how much);
- the hit's rank.
Embedding sentences is the slow part: on the shared 2-core box 3 units cost ~190 ms and
6 ~320 ms, while on the dev split (evals/calibrate_extractive.py) the cosine changed
accuracy by one question either way (zh 0.714 with or without; en 0.556 without, 0.528
with 3). So `embed_budget` defaults to 0 (p50 15 ms) and `support` then uses the hit's
own dense score; a positive budget embeds that many of the best cheap-ranked units
(vectors cached by text) and mixes their scaled cosine in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from index.embed import Embedder, Vectors
from index.keyword import tokenize
from index.retriever import Hit
from ingest.sentences import split_sentences
from service.answer_check import Focus, focus_misses, question_focus
from service.injection import looks_like_instruction
from service.language import cjk_share
from service.results import Language

MAX_HITS: Final = 5  # sentences come from the top hits (dev split: 5 > 3 by one en answer)
MAX_CANDIDATES: Final = 60
MIN_CHARS: Final = 8  # shorter units are headings or fragments, not answers
MAX_CHARS: Final = 800  # longer units are cut (and quoted cut)
EMBED_CHARS: Final = 160  # what is embedded of a unit: cost grows with length
CACHE_SIZE: Final = 20_000

# Weights of the features (sum 1); chosen on the dev split (evals/calibrate_extractive.py).
W_KEYWORD: Final = 0.45
W_COSINE: Final = 0.25
W_NUMBER: Final = 0.1
W_SHAPE: Final = 0.1
W_RANK: Final = 0.1
SECOND_MARGIN: Final = 0.08  # a second sentence is quoted when this close to the first
HEADING_FACTOR: Final = 0.6  # a short line without a full stop is a heading or a caption
# A sentence about the document itself ("摘要：本文深入剖析…") shares the question's words
# with every question asked of that document and answers none of them.
_ABOUT_THE_DOCUMENT = re.compile(r"\s*(?:摘\s*要|关\s*键\s*词|本文|abstract\b|keywords\b)", re.I)
LATIN_FACTOR: Final = 0.5  # an English abstract restates; the facts are in the Chinese text
# A unit that does not show what the question asks (the metric, the year, a figure) is
# a near miss; it stays a candidate, behind every unit that does (see answer_check.py).
FOCUS_FACTOR: Final = 0.7

_NUMERIC_QUESTION = re.compile(
    r"多少|几|比例|占比|份额|规模|金额|产值|产量|增速|增长|对价|价格|估值|"
    r"how (?:much|many|large|big)|what (?:share|percentage|proportion|price|stake|size)|"
    r"\bCAGR\b|capacity|revenue|sales|market size|consideration|grow",
    re.IGNORECASE,
)
_WHEN_QUESTION = re.compile(r"哪一年|何时|什么时候|哪年|\bwhen\b|what year|which year", re.I)
_DIGIT = re.compile(r"\d")
# Measured on the dev split: list questions often pick the sentence that announces the list.
_LIST_QUESTION = re.compile(
    r"哪些|分别|哪几|哪[一二三四五六七八九十两]+[大类个种项家]|包括什么|有什么|"
    r"\bwhat are\b|\bwhich (?:\w+ )*(?:are|were)\b|\blist\b|\bname the\b",
    re.IGNORECASE,
)
_LIST_SEPARATOR = re.compile(r"[、，,；;]")
LIST_UNITS: Final = 3
LIST_CHARS: Final = 300
# A figure and the measure after it: 14300项, 3551.9亿元, 58.12%, 2024 年.
_FIGURE = re.compile(r"(\d[\d,.]*)\s*([%％]|[A-Za-z]+|[\u4e00-\u9fff]{0,2})")
# 七大维度, 三家, 两项, 十余个: a count written in Chinese numerals with its measure word.
# A bare 一 is mostly an article (一个平台, 一大批), so a count starts from 二 or is 一十/一百.
_CHINESE_FIGURE = re.compile(
    r"((?:[二三四五六七八九十两]|一[十百千万])[一二三四五六七八九十百千万]*余?)"
    r"([大个项家种类条款名座台])"
)
_ASKED_MEASURE = re.compile(r"(?:多少|几)\s*([个项家种类条款名座台片亿万元美%人])")
_YEAR_OR_DATE = re.compile(r"\d{4}\s*年|\d{1,2}\s*月|\b(?:19|20)\d{2}\b")
_BULLET = re.compile(r"^[\s\-–—•◆●■□▪*·>]+")
_SENTENCE_END = re.compile(r"[。！？；.!?;”)）]$")
HEADING_CHARS: Final = 40
CONTEXT_WEIGHT: Final = 0.5  # a table row's caption and header words count half
# The words naming what a Chinese question asks for (asked_words), passed as `emphasis`,
# weigh this many times their length weight. The pipeline uses them only to choose the
# quote once the plain ranking has decided to answer (AnswerPipeline._asked_quote). Dev
# split (248 items, extractive), Chinese right of 83: 1 → 64, 2 → 68, 3 → 69, 4 → 69 (one
# gained, one lost against 3); refusals are unchanged at every weight.
ASKED_WEIGHT: Final = 3.0
_QUESTION_WORD = re.compile(r"是多少|多少|多长|多大|多高|几|是谁|谁|是什么|什么|哪")
_CLAUSE_BREAK = re.compile(r"[，,、；;：:？?。！!“”\"（）()]")
_MEASURE_TOKEN = re.compile(r"[亿万千百]?[美]?元|[亿万]")


@dataclass(frozen=True)
class ExtractedAnswer:
    """Quoted sentences with [n] markers (n = 1-based position in the hits) and support."""

    text: str
    used: list[int]
    support: float  # in [0, 1]; low means the hits hold no sentence that answers
    sentences: list[tuple[int, str]]  # (hit position, quoted sentence)
    misses: tuple[str, ...] = ()  # what the best sentence does not show of the question's focus


@dataclass(frozen=True)
class Candidate:
    """One quotable unit of a hit and its features."""

    position: int  # 1-based hit position
    index: int  # order within the hit
    text: str
    keyword: float
    number: float
    shape: float
    factor: float  # HEADING_FACTOR, LATIN_FACTOR or 1
    misses: tuple[str, ...] = ()  # of the question's focus, what this unit's window lacks


@dataclass(frozen=True)
class ExtractiveAnswerer:
    """Answers by quoting the best one or two sentences of the retrieved passages."""

    embedder: Embedder
    max_sentences: int = 2
    embed_budget: int = 0  # units embedded per question (cached ones are free); see below
    _cache: dict[str, Vectors] = field(default_factory=dict, repr=False, compare=False)

    def answer(
        self,
        question: str,
        hits: Sequence[Hit],
        lang: Language,
        query_terms: Sequence[str] = (),
        anchors: Sequence[tuple[str, ...]] = (),
        emphasis: Sequence[str] = (),
    ) -> ExtractedAnswer:
        """Quote the sentences of `hits` that best answer `question`, in `lang`'s frame.

        `anchors` are the question's rare names (answer_check.rare_anchors); a unit whose
        passage lacks one counts as a near miss. Question words in `emphasis` (asked_words)
        weigh ASKED_WEIGHT times more.
        """
        candidates = candidates_for(question, hits, query_terms, anchors, emphasis)
        if not candidates:
            return ExtractedAnswer(text="", used=[], support=0.0, sentences=[])
        cheap = [cheap_score(c) for c in candidates]
        order = sorted(range(len(candidates)), key=lambda i: -cheap[i])
        embedded = order[: self.embed_budget]
        cosines = np.zeros(len(candidates), dtype=np.float32)
        if embedded:
            vectors = self._vectors([candidates[i].text[:EMBED_CHARS] for i in embedded])
            cosines[embedded] = vectors @ self.embedder.embed_query(question)
        scaled = _minmax(cosines, embedded)
        scores = [
            cheap[i] + W_COSINE * scaled[i] * candidates[i].factor for i in range(len(candidates))
        ]
        ranked = sorted(range(len(candidates)), key=lambda i: -scores[i])
        chosen = [ranked[0]]
        for i in ranked[1:]:
            if len(chosen) >= self.max_sentences or scores[i] < scores[ranked[0]] - SECOND_MARGIN:
                break
            if all(_distinct(candidates[i], candidates[j]) for j in chosen):
                chosen.append(i)
        chosen.sort(key=lambda i: (candidates[i].position, candidates[i].index))
        picked = [(candidates[i].position, candidates[i].text) for i in chosen]
        if _LIST_QUESTION.search(question):
            picked = _with_list_items(picked, candidates[ranked[0]], hits)
        best = candidates[ranked[0]]
        # Without sentence vectors the passage's own dense score stands in (free: the
        # retriever computed it).
        cosine = (
            float(cosines[ranked[0]]) if ranked[0] in embedded else _dense(hits[best.position - 1])
        )
        support = support_score(best, cosine)
        return ExtractedAnswer(
            text=compose(picked, lang),
            used=list(dict.fromkeys(p for p, _ in picked)),
            support=support,
            sentences=picked,
            misses=_answer_misses([candidates[i] for i in chosen], best),
        )

    def _vectors(self, texts: list[str]) -> Vectors:
        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            if len(self._cache) + len(missing) > CACHE_SIZE:
                self._cache.clear()  # crude, but the corpus' sentences fit many times over
            for text, vector in zip(missing, self.embedder.embed_passages(missing), strict=True):
                self._cache[text] = vector
        return np.stack([self._cache[t] for t in texts])


def units(text: str) -> list[str]:
    """Quotable units of a passage: each line (a table row, a list item) cut into sentences."""
    return [unit for unit, _ in units_in_context(text)]


def units_in_context(text: str) -> list[tuple[str, str]]:
    """Each quotable unit with its context: for a table row, the table's caption and header
    row, which say what its cells are ("58.12%" means a 2023 enrolment share only under
    "表2 集成电路行业2023年相关专业招生占比情况 / 层次 专业 占比"); "" for running text."""
    out: list[tuple[str, str]] = []
    caption = header = ""
    in_table = False
    for line in text.split("\n"):
        line = _BULLET.sub("", line).strip()
        if not line:
            continue
        if "\t" in line or "|" in line:  # a table row answers as a whole
            if not in_table:
                in_table, header = True, line
            if len(line) >= MIN_CHARS:
                out.append((line[:MAX_CHARS], f"{caption} {header}" if line != header else caption))
            continue
        in_table = False
        # The last short line before a table is its caption.
        caption = line if len(line) <= HEADING_CHARS * 2 else ""
        pieces = [line[a:b].strip() for a, b in split_sentences(line)]
        out.extend((p[:MAX_CHARS], "") for p in pieces if len(p) >= MIN_CHARS)
    return out


def _weights(tokens: Sequence[str]) -> dict[str, float]:
    # Longer tokens say more (封测 < 先进封装); ASCII names (OSAT, CoWoS) are specific.
    return {t: (3.0 if t.isascii() else float(min(len(t), 4))) for t in dict.fromkeys(tokens)}


def asked_words(question: str) -> tuple[str, ...]:
    """The words that name what a Chinese question asks for: those after its question word
    to the end of the clause (几个**研发中心**, 哪些**厂商**, 多少项**专利技术**) and the last
    two before it (评估**增值率**是多少, 纳芯微**董事长**是谁). The other words of the
    question say whom or when it is about, and the sentence that repeats most of them is
    often the one before the answer (dev: "1954年成立的日本爱德万测试（Advantest）公司是…"
    for the 研发中心 asked)."""
    found = _QUESTION_WORD.search(question)
    if not found:
        return ()
    before = _CLAUSE_BREAK.split(question[: found.start()])[-1]
    after = _CLAUSE_BREAK.split(question[found.end() :])[0]
    named = [t for t in tokenize(after) if len(t) >= 2 and not _MEASURE_TOKEN.fullmatch(t)]
    lead = [t for t in tokenize(before) if len(t) >= 2][-2:]
    return tuple(dict.fromkeys(named + lead))


def candidates_for(
    question: str,
    hits: Sequence[Hit],
    query_terms: Sequence[str] = (),
    anchors: Sequence[tuple[str, ...]] = (),
    emphasis: Sequence[str] = (),
) -> list[Candidate]:
    """The units of the top hits with their cheap features, at most MAX_CANDIDATES."""
    q_tokens = tokenize(question) + [t for term in query_terms for t in tokenize(term)]
    weights = _weights(q_tokens)
    for word in emphasis:
        if word in weights:
            weights[word] *= ASKED_WEIGHT
    total = sum(weights.values()) or 1.0
    q_numbers = {t for t in q_tokens if _DIGIT.search(t)}
    wants_number = bool(_NUMERIC_QUESTION.search(question))
    wants_date = bool(_WHEN_QUESTION.search(question))
    measure = asked_measure(question)
    focus = question_focus(question, anchors)
    seen: set[str] = set()
    out: list[Candidate] = []
    for position, hit in enumerate(hits[:MAX_HITS], 1):
        in_context = units_in_context(hit.chunk.text)
        hit_units = [unit for unit, _ in in_context]
        # Tokenised once a hit: a unit is also its successor's line above, and every row of
        # a table shares one caption and header.
        unit_tokens = [set(tokenize(unit)) for unit in hit_units]
        context_tokens_of = {c: set(tokenize(c)) for c in {c for _, c in in_context}}
        passage = _passage(hit) if focus.anchors else ""
        heading = _heading(hit)
        passage_tokens = set(tokenize(passage)) if passage else set()
        for index, (text, context) in enumerate(in_context):
            if text in seen:  # chunks overlap by a sentence
                continue
            seen.add(text)
            if looks_like_instruction(text):
                continue  # planted for a model to obey; never an answer (injection.py)
            tokens = unit_tokens[index]
            context_tokens = context_tokens_of[context] - tokens
            keyword = (
                sum(w for t, w in weights.items() if t in tokens)
                + CONTEXT_WEIGHT * sum(w for t, w in weights.items() if t in context_tokens)
            ) / total
            # The year or subject a figure belongs to often sits one line up.
            window = tokens | context_tokens
            if index > 0:
                window |= unit_tokens[index - 1]
            number = len(q_numbers & window) / len(q_numbers) if q_numbers else 0.0
            shape = 0.0
            if wants_date:
                shape = 1.0 if _YEAR_OR_DATE.search(text) else 0.0
            elif wants_number:
                shape = figure_shape(text, q_numbers, measure)
            factor = 1.0
            if cjk_share(text) < 0.3:
                factor = LATIN_FACTOR
            elif len(text) < HEADING_CHARS and "\t" not in text and not _SENTENCE_END.search(text):
                factor = HEADING_FACTOR
            elif _ABOUT_THE_DOCUMENT.match(text):
                factor = HEADING_FACTOR
            misses = _misses(focus, hit_units, index, context, passage_tokens, passage, heading)
            out.append(Candidate(position, index, text, keyword, number, shape, factor, misses))
            if len(out) >= MAX_CANDIDATES:
                return out
    return out


def asked_measure(question: str) -> str:
    """The measure word a how-many question asks in: 多少项专利 → 项, 几个维度 → 个."""
    found = _ASKED_MEASURE.search(question)
    return found.group(1) if found else ""


def figure_shape(text: str, q_numbers: set[str], measure: str = "") -> float:
    """How much `text` looks like the answer to a how-much question: 1 for a figure the
    question did not give, in the measure it asks for (14300项 for 多少项); 0.7 for
    another such figure; 0 when its only figures are years (成立于1967年 does not say how
    many patents) or the question's own. Chinese numerals count (七大维度, 三家)."""
    best = 0.0
    for found in _FIGURE.finditer(text):
        number, suffix = found.group(1).rstrip(",."), found.group(2)
        if number in q_numbers or _is_year(number, suffix):
            continue
        if measure and suffix.startswith(measure):
            return 1.0
        best = 0.7
    for found in _CHINESE_FIGURE.finditer(text):
        if measure and found.group(2).startswith(measure):
            return 1.0
        best = max(best, 0.7)
    return best


def _is_year(number: str, suffix: str) -> bool:
    # Dates are not amounts: 2024 年, 1月, 15日, a bare 2019. A duration is: 2 年, 1-3年.
    if suffix[:1] == "年":
        return len(number) == 4
    if suffix[:1] in ("月", "日"):
        return len(number) <= 2
    return not suffix and len(number) == 4 and number[:2] in ("19", "20")


def _with_list_items(
    picked: list[tuple[int, str]], best: Candidate, hits: Sequence[Hit]
) -> list[tuple[int, str]]:
    """For a list question whose best unit only announces the list ("分为0级到3级共四个
    等级。"), also quote the units that follow it in the passage, where the items are."""
    if len(_LIST_SEPARATOR.findall(best.text)) >= 2:
        return picked  # the items are in the unit itself
    following = units(hits[best.position - 1].chunk.text)[best.index + 1 :]
    extra: list[tuple[int, str]] = []
    budget = LIST_CHARS
    for text in following[:LIST_UNITS]:
        if budget <= 0:
            break
        if any(_squash(text) == _squash(t) for _, t in (*picked, *extra)):
            continue  # documents repeat their summary sentences
        extra.append((best.position, text))
        budget -= len(text)
    at = next(i for i, (p, t) in enumerate(picked) if p == best.position and t == best.text)
    return picked[: at + 1] + extra + picked[at + 1 :]


def _misses(
    focus: Focus,
    hit_units: Sequence[str],
    index: int,
    context: str,
    passage_tokens: set[str],
    passage: str,
    heading: str,
) -> tuple[str, ...]:
    # The unit, its neighbours and a table row's caption: a year or a table's subject often
    # sits a line or two up.
    if focus.empty:
        return ()
    window = "\n".join([context, *hit_units[max(0, index - 1) : index + 2]])
    return focus_misses(focus, window, passage_tokens, passage, heading)


def _answer_misses(chosen: Sequence[Candidate], best: Candidate) -> tuple[str, ...]:
    """What of the question's focus the quote does not show: the best unit's misses that
    the other quoted units of its passage miss too. The capacity of "雷鸟创新…XR整机研发制造
    总部项目。" is in its passage's "…达产后将实现年产100万台XR整机的生产能力", three
    sentences on (dev split). Units of other passages do not count: a year from one and a
    metric from another do not make an answer (dev: 5 unanswerable questions answered)."""
    same = [c for c in chosen if c.position == best.position]
    return tuple(m for m in best.misses if all(m in c.misses for c in same))


def _passage(hit: Hit) -> str:
    # The heading path names the subject of a passage as often as its sentences do.
    return " ".join(filter(None, (_heading(hit), hit.chunk.text))).lower()


def _heading(hit: Hit) -> str:
    return " ".join(filter(None, (hit.chunk.title, hit.chunk.section)))


def cheap_score(c: Candidate) -> float:
    """The score without the embedding cosine."""
    rank = 1.0 - (c.position - 1) / MAX_HITS
    score = W_KEYWORD * c.keyword + W_NUMBER * c.number + W_SHAPE * c.shape + W_RANK * rank
    return score * c.factor * (FOCUS_FACTOR if c.misses else 1.0)


def support_score(best: Candidate, cosine: float) -> float:
    """How well the best unit answers, in [0, 1]: its keyword coverage and raw cosine.

    E5 cosines between a question and any sentence of the corpus sit in about 0.75-0.92,
    so the cosine is stretched over that band before it is mixed in.
    """
    stretched = min(max((cosine - 0.75) / 0.17, 0.0), 1.0)
    return round(0.6 * best.keyword + 0.25 * stretched + 0.15 * best.shape, 4)


def _dense(hit: Hit) -> float:
    score = hit.dense_score
    return 0.0 if score is None else score


def _minmax(values: Vectors, rows: list[int]) -> Vectors:
    out = np.zeros_like(values)
    if len(rows) < 2:
        out[rows] = 1.0
        return out
    sub = values[rows]
    span = float(sub.max() - sub.min())
    out[rows] = (sub - sub.min()) / span if span > 1e-6 else 1.0
    return out


def _distinct(a: Candidate, b: Candidate) -> bool:
    # "From a different place": another hit, or not the neighbouring sentence; and not the
    # same words (documents repeat their summary sentences, and chunks overlap).
    if _squash(a.text) == _squash(b.text):
        return False
    return a.position != b.position or abs(a.index - b.index) > 1


def _squash(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def compose(picked: Sequence[tuple[int, str]], lang: Language) -> str:
    """The answer text: a lead-in in the asker's language and the quotes with [n] markers."""
    if not picked:
        return ""
    if lang == "zh":
        parts = []
        for position, text in picked:
            body = text.rstrip("。；;，, ")
            parts.append(f"{body}[{position}]。")
        return "根据资料，" + "".join(parts)
    # Quotes inside the quote become single quotes, as English nests them.
    nested = str.maketrans({"“": "‘", "”": "’"})
    quotes = [f"“{text.strip().translate(nested)}” [{position}]" for position, text in picked]
    return "According to the documents: " + " and ".join(quotes) + "."
