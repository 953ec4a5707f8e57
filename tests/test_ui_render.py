"""The web UI's HTML rendering, without a browser: escaping, inert Markdown, [n] links,
highlighted quotes, the why line, refusals, and the chat's memory."""

from __future__ import annotations

from dataclasses import replace
from html.parser import HTMLParser
from typing import Any

from index.retriever import Hit, RetrieverRank, Why
from ingest.document import Chunk
from service.results import Answer, Citation
from ui.conversation import Turn, history_messages
from ui.render import (
    EMPTY_PANEL,
    Pending,
    answer_html,
    card_html,
    chat_messages,
    escape,
    highlight,
    link_markers,
    sources_panel,
    streaming_html,
    why_line,
)

EVIL = '<script>alert("x")</script> <img src=x onerror=alert(1)> ![x](http://evil/x.png)'


def _hit(rank: int, text: str = "先进封装包括倒装、TSV 和 Chiplet。", **chunk: Any) -> Hit:
    fields: dict[str, Any] = {
        "chunk_id": f"c{rank}",
        "doc_id": "d1",
        "source": "000_report.txt",
        "title": "先进封装报告",
        "section": "技术 > 封装",
        "text": text,
        "line_start": 10 * rank,
        "line_end": 10 * rank + 4,
        "page": None,
        "tokens": 20,
        **chunk,
    }
    why = Why(RetrieverRank(2, 0.91), None, "先进封装 技术")
    return Hit(rank=rank, score=0.1 / rank, chunk=Chunk.from_dict(fields), why=why)


def _turn(answer: str = "主要有倒装和 TSV[1]，以及 Chiplet[2]。", **over: Any) -> Turn:
    hits = (_hit(1), _hit(2), _hit(3))
    result = Answer(
        question="先进封装的主要技术有哪些？",
        language="zh",
        answer=answer,
        refused=False,
        citations=(Citation(1, hits[0], ("先进封装包括倒装",)), Citation(2, hits[1])),
        backend="extractive",
        timings_ms={"total": 1234.0},
        hits=hits,
        searched="先进封装的主要技术有哪些？",
    )
    turn = Turn.from_answer(1, result)
    return replace(turn, **over)


class _Elements(HTMLParser):
    """Every element a browser would build from some HTML, with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


def _no_live_markup(html: str) -> None:
    parser = _Elements()
    parser.feed(html)
    tags = {tag for tag, _ in parser.found}
    assert not tags & {"script", "img", "iframe", "object", "style"}, tags
    for tag, attrs in parser.found:
        assert not [a for a, _ in attrs if a.startswith("on")], (tag, attrs)
        assert all(not (v or "").startswith(("http", "javascript")) for _, v in attrs)


def test_escape_makes_tags_text() -> None:
    out = escape(EVIL + "\nnext")
    _no_live_markup(out)
    assert "&lt;script&gt;" in out and out.endswith("<br>next")


def test_markdown_image_and_link_stay_text() -> None:
    html = answer_html(_turn(answer="见图 ![x](http://evil/x.png) 与 [链接](http://evil/) [1]"))
    _no_live_markup(html)
    assert "![x](http://evil/x.png)" in html  # shown literally; the chat renders no Markdown
    assert 'href="http://evil' not in html


def test_markers_link_to_their_cards() -> None:
    html = answer_html(_turn())
    assert '<a class="xinda-cite" href="#xinda-t1-c1">[1]</a>' in html
    assert '<a class="xinda-cite" href="#xinda-t1-c2">[2]</a>' in html
    assert "000_report.txt:10–14" in html and "extractive · 1.2 s" in html


def test_a_marker_without_citation_is_not_a_link() -> None:
    assert link_markers("a[1] b[7]", 3, frozenset({1})) == (
        'a<a class="xinda-cite" href="#xinda-t3-c1">[1]</a> b[7]'
    )


def test_highlight_marks_quotes_and_escapes_inside() -> None:
    text = "前言。<b>倒装</b>是关键。结尾。"
    out = highlight(text, ["<b>倒装</b>是关键。", "不存在的句子"])
    assert out == "前言。<mark>&lt;b&gt;倒装&lt;/b&gt;是关键。</mark>结尾。"
    assert highlight("甲乙丙", ["甲乙", "乙丙"]) == "<mark>甲乙丙</mark>"  # overlaps merge
    assert highlight("甲乙", ["", "  "]) == "甲乙"


def test_card_shows_file_lines_section_score_and_why() -> None:
    passage = {**_hit(1).to_dict(), "quotes": ["TSV"], "title": EVIL, "section": EVIL}
    html = card_html(passage, "xinda-t1-c1", "[1]", "zh", open_=True)
    _no_live_markup(html)
    assert 'id="xinda-t1-c1" open' in html and "<code>000_report.txt</code>" in html
    assert "第 10–14 行" in html and "0.100" in html and "<mark>TSV</mark>" in html
    assert "向量检索第 2 名（0.91）" in html and "BM25 未命中" in html
    assert "<q>先进封装 技术</q>" in html


def test_why_line_in_english_and_pdf_page() -> None:
    passage = {**_hit(1, page=3).to_dict()}
    assert "dense rank 2 (0.91) · not found by BM25" in why_line(passage, "en")
    assert "page 3 · lines 10–14" in card_html(passage, "x", "#1", "en", open_=False)
    assert why_line({"text": "no why"}, "en") == ""


def test_panel_newest_turn_first_and_earlier_folded() -> None:
    first = _turn()
    second = replace(first, number=2)
    html = sources_panel([first, second])
    assert html.index('id="xinda-t2"') < html.index('class="xinda-earlier"')
    assert html.index('class="xinda-earlier"') < html.index('id="xinda-t1"')
    assert html.count('class="xinda-card"') == 6  # 2 cited + 1 other, per turn
    assert "其他检索到的段落（1）" in html


def test_refusal_still_shows_the_closest_passages() -> None:
    refused = _turn(answer="资料中没有找到相关信息。", refused=True, citations=())
    panel = sources_panel([refused])
    assert "文档中没有这个问题的答案" in panel and 'data-state="refused"' in panel
    assert panel.count('class="xinda-card"') == 3
    assert 'id="xinda-t1-h1" open' in panel  # the closest one is open
    assert "xinda-refused" in answer_html(refused)


def test_pending_panel_before_and_after_sources() -> None:
    pending = Pending(1, "What is a chiplet?", "en")
    assert "Searching…" in sources_panel([], pending)
    with_hits = Pending(1, "What is a chiplet?", "en", hits=(_hit(1).to_dict(),))
    html = sources_panel([], with_hits)
    assert "writing the answer" in html and 'id="xinda-t1-h1"' in html
    assert sources_panel([]) == EMPTY_PANEL


def test_streaming_text_is_escaped_and_unlinked() -> None:
    html = streaming_html("<i>partial</i> [1]", "en", retrieved=True)
    assert "&lt;i&gt;partial&lt;/i&gt; [1]" in html and "xinda-cite" not in html
    assert "Searching" in streaming_html("", "en", retrieved=False)


def test_history_is_the_raw_text_of_earlier_turns() -> None:
    turn = _turn()
    messages = history_messages([turn])
    assert [(m.role, m.content) for m in messages] == [
        ("user", turn.question),
        ("assistant", turn.answer),
    ]
    chat = chat_messages([turn])
    assert [m["role"] for m in chat] == ["user", "assistant"]
