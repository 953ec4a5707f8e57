"""Answer summaries, the report (JSON, markdown) and its plot, from hand-made records."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evals import plot
from evals.dataset import EvalItem
from evals.report import build_report, recall_at_5_for, report_markdown, write_report
from evals.summary import HEADLINE_METRICS, AnswerRecord, answer_summary

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def record(
    qid: str,
    lang: str,
    kind: str,
    *,
    correct: bool = False,
    refused: bool = False,
    valid: bool = True,
    supports: bool = False,
    language_ok: bool = True,
    ms: float = 100.0,
) -> AnswerRecord:
    answers: tuple[str, ...] = () if kind == "unanswerable" else ("x",)
    item = EvalItem(qid, lang, f"question {qid}", answers, None, None, kind)
    timings = {"retrieve": ms / 2, "extract": ms / 4, "total": ms}
    return AnswerRecord(item, f"answer {qid}", refused, correct, language_ok, valid, supports,
                        timings)  # fmt: skip


RECORDS = [
    record("z1", "zh", "number", correct=True, supports=True, ms=100),
    record("z2", "zh", "number", refused=True, ms=200),
    record("z3", "zh", "unanswerable", refused=True, ms=300),
    record("e1", "en", "entity", correct=True, supports=True, ms=400),
    record("e2", "en", "entity", valid=False, language_ok=False, ms=500),
    record("e3", "en", "unanswerable", ms=600),
]


def test_overall_block() -> None:
    block = answer_summary(RECORDS)["all"]
    assert (block["n"], block["answerable"], block["unanswerable"]) == (6, 4, 2)
    assert block["accuracy"] == 2 / 4
    assert block["refusal_recall"] == 1 / 2
    assert block["refusal_precision"] == 1 / 2  # z2 wrongly, z3 rightly refused
    assert block["wrongly_refused"] == 1 / 4
    assert block["citation_validity"] == 3 / 4  # over the 4 answers that are not refusals
    assert block["citation_support"] == 2 / 3  # over the 3 answered answerable ones
    assert block["language_ok"] == 5 / 6
    assert block["latency_ms"]["total"] == {"p50": 300.0, "p95": 600.0}
    assert set(block["latency_ms"]) == {"retrieve", "extract", "total"}


def test_groups_and_unmeasurable_metrics() -> None:
    summary = answer_summary(RECORDS)
    assert set(summary["by_language"]) == {"zh", "en"}
    assert summary["by_language"]["zh"]["accuracy"] == 0.5
    assert summary["by_type"]["unanswerable"]["accuracy"] is None
    assert summary["by_type"]["number"]["refusal_recall"] is None
    assert set(summary["by_language_type"]) == {
        "zh/number",
        "zh/unanswerable",
        "en/entity",
        "en/unanswerable",
    }
    assert summary["by_language_type"]["en/unanswerable"]["refusal_recall"] == 0.0


def retrieval(mode: str, recall5: float) -> dict[str, Any]:
    scores = {"n": 4, "recall@1": 0.5, "recall@5": recall5, "recall@10": 1.0, "mrr": 0.6}
    return {
        "mode": mode,
        "overall": scores,
        "by_language": {"zh": scores},
        "by_type": {"number": scores},
        "by_language_type": {"zh/number": scores},
        "latency_ms": {"p50": 10.0, "p95": 20.0},
        "ranks": {},
    }


def test_recall_at_5_follows_the_backends_search() -> None:
    runs = [retrieval("hybrid", 0.8), retrieval("hybrid+local translation", 0.9)]
    assert recall_at_5_for("local", runs) == 0.9
    assert recall_at_5_for("extractive", runs) == 0.8
    assert recall_at_5_for("extractive", [retrieval("bm25", 0.7)]) is None


META = {"set": "evals/qa.jsonl", "split": "test", "sample": 6, "items": 6, "date": "today"}


def test_report_holds_headline_and_per_question_records() -> None:
    data = build_report(META, [retrieval("hybrid", 0.8)], {"extractive": RECORDS})
    head = data["headline"]["extractive"]
    assert list(head) == list(HEADLINE_METRICS)
    assert head["accuracy_zh"] == 0.5 and head["accuracy_en"] == 0.5
    assert head["retrieval_recall_at_5"] == 0.8
    z3 = data["items"]["extractive"]["z3"]
    assert z3["right"] is True and z3["lang"] == "zh" and z3["question"] == "question z3"
    json.dumps(data)  # JSON-ready as it is


def test_markdown_sections() -> None:
    data = build_report(META, [retrieval("hybrid", 0.8)], {"extractive": RECORDS})
    md = report_markdown(data, gates="GATES TABLE", baseline="FLIPS")
    for heading in ("## Headline", "## Gates", "## Retrieval", "## Answers (extractive)"):
        assert heading in md
    assert "### Latency ms (extractive)" in md and "GATES TABLE" in md and "FLIPS" in md
    assert "stratified sample of 6" in md
    assert "| extractive | unanswerable | 2 | – | 0.500 |" in md


def test_write_report_files(tmp_path: Path) -> None:
    data = build_report(META, [retrieval("hybrid", 0.8)], {"extractive": RECORDS})
    write_report(tmp_path / "out", data, report_markdown(data))
    out = tmp_path / "out"
    assert json.loads((out / "report.json").read_text(encoding="utf-8")) == data
    assert "![accuracy and latency](report.png)" in (out / "report.md").read_text("utf-8")
    png = (out / "report.png").read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 10_000


def test_plot_of_a_retrieval_only_run(tmp_path: Path) -> None:
    data = build_report(META, [retrieval("hybrid", 0.8)], {})
    plot.plot_report(data, tmp_path / "r.png")
    assert (tmp_path / "r.png").read_bytes().startswith(PNG_MAGIC)


def test_plot_without_a_cjk_font_warns_and_still_draws(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plot, "CJK_FONT_FILE", tmp_path / "no-such-font.ttc")
    fonts = plot.font_manager.fontManager
    latin = [f for f in fonts.ttflist if "WenQuanYi" not in f.name and "CJK" not in f.name]
    monkeypatch.setattr(fonts, "ttflist", latin)
    data = build_report(META, [], {"extractive": RECORDS})
    with pytest.warns(plot.MissingFontWarning, match="fonts-wqy-zenhei"):
        plot.plot_report(data, tmp_path / "p.png")
    assert (tmp_path / "p.png").read_bytes().startswith(PNG_MAGIC)


@pytest.mark.skipif(not plot.CJK_FONT_FILE.is_file(), reason="fonts-wqy-zenhei not installed")
def test_cjk_font_is_registered() -> None:
    assert plot.cjk_font() == "WenQuanYi Zen Hei"
