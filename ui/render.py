"""HTML for the web chat, as pure functions of plain data (testable without a browser).

Everything that came from a document, a user or a model is escaped here: the chat shows
messages as HTML with Markdown rendering off, so a model's `![x](http://…)` stays text
and nothing is fetched; the only markup is what these functions write. Source cards are
`<details>` elements with stable ids; a `[n]` in an answer is a link to its card.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from service.documents import AddedDocument
from service.results import Language
from ui.conversation import Turn

_MARKER: Final = re.compile(r"\[(\d+)\]")

LABELS: Final[dict[Language, dict[str, str]]] = {
    "zh": {
        "lines": "第 {a}–{b} 行",
        "page": "第 {p} 页",
        "why": "为何选中",
        "dense": "向量检索第 {r} 名（{s}）",
        "bm25": "BM25 第 {r} 名（{s}）",
        "dense_miss": "向量检索未命中",
        "bm25_miss": "BM25 未命中",
        "searched": "检索语句",
        "score": "融合得分",
        "refused": "资料中没有找到相关信息。",
        "refused_panel": "文档中没有这个问题的答案。以下是检索到的最接近的段落，仅供参考：",
        "closest": "最接近的段落",
        "others": "其他检索到的段落（{n}）",
        "cited": "引用的段落",
        "searching": "正在检索…",
        "writing": "已检索到以下段落，正在生成答案…",
        "see_sources": "最接近的段落见右侧“来源”。",
        "error": "出错了：",
    },
    "en": {
        "lines": "lines {a}–{b}",
        "page": "page {p}",
        "why": "Why this passage",
        "dense": "dense rank {r} ({s})",
        "bm25": "BM25 rank {r} ({s})",
        "dense_miss": "not found by dense search",
        "bm25_miss": "not found by BM25",
        "searched": "searched",
        "score": "fused score",
        "refused": "The documents do not contain this information.",
        "refused_panel": "The documents do not answer this question. The closest passages "
        "retrieved, for reference:",
        "closest": "Closest passages",
        "others": "Other retrieved passages ({n})",
        "cited": "Cited passages",
        "searching": "Searching…",
        "writing": "Passages retrieved; writing the answer…",
        "see_sources": "The closest passages are under Sources.",
        "error": "Something went wrong: ",
    },
}

EMPTY_PANEL: Final = (
    '<div class="xinda-sources xinda-empty"><p>提问后，引用的段落会显示在这里：文件、章节、'
    "行号、原文与命中的句子。</p><p>Ask a question: the cited passages appear here with their "
    "file, section, lines, text and the quoted sentences highlighted.</p></div>"
)


@dataclass(frozen=True, slots=True)
class Pending:
    """The question being answered: no hits until the `sources` event arrives."""

    number: int
    question: str
    language: Language
    hits: tuple[dict[str, Any], ...] | None = None


def escape(text: str) -> str:
    """Text as inert HTML: tags, entities and quotes escaped, line breaks kept."""
    return html.escape(text, quote=True).replace("\n", "<br>")


def card_id(turn: int, n: int) -> str:
    """Element id of citation n's card in a turn."""
    return f"xinda-t{turn}-c{n}"


def hit_id(turn: int, rank: int) -> str:
    """Element id of a retrieved (not cited) passage's card in a turn."""
    return f"xinda-t{turn}-h{rank}"


def link_markers(escaped: str, turn: int, cited: frozenset[int]) -> str:
    """Turn each `[n]` of an escaped answer that has a citation into a link to its card."""

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if n not in cited:
            return match.group(0)
        return f'<a class="xinda-cite" href="#{card_id(turn, n)}">[{n}]</a>'

    return _MARKER.sub(link, escaped)


def highlight(text: str, quotes: Sequence[str]) -> str:
    """Escaped passage text with the quoted sentences wrapped in `<mark>`."""
    spans: list[tuple[int, int]] = []
    for quote in quotes:
        quote = quote.strip()
        start = text.find(quote) if quote else -1
        while start >= 0:
            spans.append((start, start + len(quote)))
            start = text.find(quote, start + len(quote))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    parts: list[str] = []
    at = 0
    for start, end in merged:
        parts.append(escape(text[at:start]))
        parts.append(f"<mark>{escape(text[start:end])}</mark>")
        at = end
    parts.append(escape(text[at:]))
    return "".join(parts)


def location(passage: Mapping[str, Any], language: Language) -> str:
    """'lines 120–134' (or the page of a PDF) in the turn's language."""
    labels = LABELS[language]
    where = labels["lines"].format(a=passage.get("line_start"), b=passage.get("line_end"))
    if passage.get("page"):
        where = labels["page"].format(p=passage["page"]) + " · " + where
    return where


def why_line(passage: Mapping[str, Any], language: Language) -> str:
    """Why a passage was picked: each retriever's rank and score, and the query searched."""
    why = passage.get("why")
    if not why:
        return ""
    labels = LABELS[language]
    parts = []
    for name in ("dense", "bm25"):
        found = why.get(name)
        if found:
            parts.append(labels[name].format(r=found["rank"], s=f"{found['score']:.3g}"))
        else:
            parts.append(labels[name + "_miss"])
    searched = f"{labels['searched']}: <q>{escape(str(why.get('query', '')))}</q>"
    return (
        f'<div class="xinda-why"><b>{labels["why"]}</b>: '
        + escape(" · ".join(parts))
        + f" · {searched}</div>"
    )


def card_html(
    passage: Mapping[str, Any], element_id: str, label: str, language: Language, *, open_: bool
) -> str:
    """One source card: number, title, file, section, lines, score, passage, why."""
    section = passage.get("section") or ""
    quotes = passage.get("quotes") or ()
    meta = [f"<code>{escape(str(passage.get('source', '')))}</code>", location(passage, language)]
    if section:
        meta.append(f'<span class="xinda-section">{escape(str(section))}</span>')
    score = float(passage.get("score") or 0.0)
    title = escape(str(passage.get("title", "")))
    return (
        f'<details class="xinda-card" id="{element_id}"{" open" if open_ else ""}>'
        f'<summary><div class="xinda-head"><span class="xinda-n">{escape(label)}</span> '
        f'<span class="xinda-title" title="{title}">{title}</span>'
        f'<span class="xinda-score" title="{LABELS[language]["score"]}">{score:.3f}</span>'
        f'</div><div class="xinda-meta">{" · ".join(meta)}</div></summary>'
        f'<div class="xinda-passage">{highlight(str(passage.get("text", "")), quotes)}</div>'
        f"{why_line(passage, language)}</details>"
    )


def _hit_cards(
    turn: int, hits: Sequence[Mapping[str, Any]], language: Language, *, open_first: bool = False
) -> str:
    return "".join(
        card_html(
            h, hit_id(turn, int(h["rank"])), f"#{h['rank']}", language, open_=open_first and i == 0
        )
        for i, h in enumerate(hits)
    )


def _turn_section(turn: Turn) -> str:
    labels = LABELS[turn.language]
    body = [f'<div class="xinda-asked">{escape(turn.question)}</div>']
    if turn.refused or not turn.citations:
        body.append(f'<div class="xinda-refused-note">{labels["refused_panel"]}</div>')
        body.append(_hit_cards(turn.number, turn.hits, turn.language, open_first=True))
    else:
        body.extend(
            card_html(
                c, card_id(turn.number, int(c["n"])), f"[{c['n']}]", turn.language, open_=True
            )
            for c in turn.citations
        )
        cited = {c["chunk_id"] for c in turn.citations}
        others = [h for h in turn.hits if h["chunk_id"] not in cited]
        if others:
            body.append(
                f'<details class="xinda-others"><summary>'
                f"{labels['others'].format(n=len(others))}</summary>"
                f"{_hit_cards(turn.number, others, turn.language)}</details>"
            )
    state = "refused" if turn.refused else "answered"
    return (
        f'<section class="xinda-turn xinda-done" data-state="{state}" '
        f'id="xinda-t{turn.number}">{"".join(body)}</section>'
    )


def _pending_section(pending: Pending) -> str:
    labels = LABELS[pending.language]
    body = [f'<div class="xinda-asked">{escape(pending.question)}</div>']
    if pending.hits is None:
        body.append(f'<div class="xinda-status">{labels["searching"]}</div>')
    else:
        body.append(f'<div class="xinda-status">{labels["writing"]}</div>')
        body.append(_hit_cards(pending.number, pending.hits, pending.language))
    return (
        f'<section class="xinda-turn xinda-pending" id="xinda-t{pending.number}">'
        f"{''.join(body)}</section>"
    )


def sources_panel(turns: Sequence[Turn], pending: Pending | None = None) -> str:
    """The sources panel: the newest turn's cards open, earlier turns folded below."""
    if not turns and pending is None:
        return EMPTY_PANEL
    sections = [_pending_section(pending)] if pending else []
    sections.extend(_turn_section(t) for t in reversed(turns))
    newest, earlier = sections[0], sections[1:]
    folded = ""
    if earlier:
        folded = (
            f'<details class="xinda-earlier"><summary>之前的问题 Earlier questions '
            f"({len(earlier)})</summary>{''.join(earlier)}</details>"
        )
    return f'<div class="xinda-sources">{newest}{folded}</div>'


def answer_html(turn: Turn) -> str:
    """A finished answer for the chat: escaped text, `[n]` linked to cards, a source line."""
    labels = LABELS[turn.language]
    if turn.refused:
        return (
            f'<div class="xinda-refused">{escape(turn.answer or labels["refused"])}</div>'
            f'<div class="xinda-foot">{labels["see_sources"]}</div>'
        )
    cited = frozenset(int(c["n"]) for c in turn.citations)
    text = link_markers(escape(turn.answer), turn.number, cited)
    refs = " ".join(
        f'<a class="xinda-cite" href="#{card_id(turn.number, int(c["n"]))}">[{c["n"]}]</a> '
        f"{escape(str(c['source']))}:{c['line_start']}–{c['line_end']}"
        for c in turn.citations
    )
    timing = f"{turn.backend} · {turn.total_ms / 1000:.1f} s"
    return (
        f'<div class="xinda-answer">{text}</div>'
        f'<div class="xinda-foot">{refs}<span class="xinda-timing">{escape(timing)}</span></div>'
    )


def streaming_html(text: str, language: Language, *, retrieved: bool) -> str:
    """An answer while it streams in: escaped text and a cursor; markers not linked yet
    (they still count the passages given to the model, not the final citations)."""
    if not text:
        status = LABELS[language]["writing" if retrieved else "searching"]
        return f'<span class="xinda-status">{status}</span>'
    return f'<div class="xinda-answer">{escape(text)}<span class="xinda-cursor">▍</span></div>'


def chat_messages(turns: Sequence[Turn]) -> list[dict[str, str]]:
    """The finished turns as the chat's messages (role + HTML content)."""
    messages: list[dict[str, str]] = []
    for turn in turns:
        messages.append({"role": "user", "content": escape(turn.question)})
        messages.append({"role": "assistant", "content": answer_html(turn)})
    return messages


def error_html(message: str, language: Language) -> str:
    """A failed answer, shown in the chat (the message is safe to show, and escaped)."""
    return f'<div class="xinda-error">{LABELS[language]["error"]}{escape(message)}</div>'


def upload_summary_html(added: AddedDocument) -> str:
    """The ingest summary of an upload."""
    return (
        f"<div>✓ <code>{escape(added.source)}</code> · {escape(added.title)}<br>"
        f"{added.chunks} 段 chunks added · 索引共 {added.chunks_in_index} 段 chunks in the index · "
        f"version <code>{escape(added.version)}</code> · {added.seconds:.1f} s</div>"
    )


def upload_error_html(message: str) -> str:
    """Why an upload was refused (the message is safe to show, and escaped)."""
    return f'<div class="xinda-error">✗ {escape(message)}</div>'
