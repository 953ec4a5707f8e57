"""The service benchmark (`make bench`'s HTTP part): a tiny run against a real `xinda serve`
on a two-document index produces every report line; the pure pieces (SSE parsing,
percentile tables, targets, the LLM table) on fixed numbers. No assertion on a measured
time: those depend on the machine and its neighbours."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tiny_index import build_tiny_home

from evals.bench import bench_service
from evals.bench_http import PROBES, Cell, Timed, http_lines, ratio, target_line
from evals.bench_llm import (
    Bare,
    LlmRuns,
    Streamed,
    candidates,
    decode_rate,
    llm_lines,
    pooled_rate,
)
from evals.dataset import EvalItem
from evals.server_proc import proc_stat_cpu_s, proc_status_mb
from evals.sse import sse_events


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Path:
    base = tmp_path_factory.mktemp("bench")
    return build_tiny_home(base / "home", models_dir, base / "docs")


@pytest.mark.slow
def test_tiny_service_bench_writes_every_line(home: Path) -> None:
    lines = bench_service(home, requests=2, llm_questions=0)
    text = "\n".join(lines)
    for probe in PROBES:
        # Two rounds of one request; with 8 clients, at least one per client a round.
        assert f"| {probe} | 1 | 2 | 0 |" in text
        assert f"| {probe} | 8 | 16 | 0 |" in text
    assert "- time from request to the SSE `sources` event, 1 client: p50 " in text
    assert "- extractive ask beyond retrieval (server `timings_ms` total − retrieve)" in text
    assert "peak RSS (VmHWM) after the HTTP runs above (extractive):" in text
    assert "skipped (--no-llm)" in text
    assert "errors in" not in text


def test_sse_events_split_on_blank_lines_and_skip_comments() -> None:
    stream = [
        ": ping",
        "event: sources",
        'data: {"hits": []}',
        "",
        "event: token\r\n",
        "data: a",
        "data: b",
        "\r\n",
        "data: last without a name",
    ]
    assert list(sse_events(stream)) == [
        ("sources", '{"hits": []}'),
        ("token", "a\nb"),
        ("message", "last without a name"),
    ]


def _cell(probe: str, clients: int, ms: list[float], beyond: float | None = None) -> Cell:
    return Cell(probe, clients, [Timed(m, beyond) for m in ms], wall_s=len(ms) / 10)


def test_http_lines_report_ratios_and_targets_from_the_samples() -> None:
    ask = "/v1/ask (extractive)"
    sources = "/v1/ask stream → `sources`"
    cells = [
        _cell(ask, 1, [10.0, 20.0, 30.0, 40.0], beyond=200.0),
        _cell(ask, 8, [40.0, 50.0, 60.0, 400.0]),
        _cell(sources, 1, [100.0, 200.0, 250.0, 350.0]),
    ]
    cells[1].errors.append("HTTPStatusError: 503")
    lines = http_lines(cells)
    assert "| /v1/ask (extractive) | 1 | 4 | 0 | 20.0 | 40.0 | 1.00x | 10.0 |" in lines
    assert "| /v1/ask (extractive) | 8 | 4 | 1 | 50.0 | 400 | 2.50x | 10.0 |" in lines
    assert (
        "- time from request to the SSE `sources` event, 1 client: p50 200 ms, p95 350 ms "
        "(target ≤ 300 ms: p50 met, p95 missed; n=4)"
    ) in lines
    assert any("beyond retrieval" in x and "p50 200 ms" in x and "p50 missed" in x for x in lines)
    assert "- errors in /v1/ask (extractive) × 8: HTTPStatusError: 503" in lines


def test_ratio_and_empty_targets() -> None:
    assert ratio(3.0, 2.0) == 1.5
    assert ratio(None, 2.0) is None and ratio(1.0, 0.0) is None
    assert target_line("x", [], 100) == "- x: no samples"


def test_proc_status_mb_reads_kilobytes() -> None:
    status = "Name:\tpython\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n"
    assert proc_status_mb(status, "VmHWM") == 200.0
    assert proc_status_mb(status, "VmRSS") == 100.0
    with pytest.raises(ValueError):
        proc_status_mb(status, "VmSwap")


def test_proc_stat_cpu_s_reads_past_a_name_with_spaces() -> None:
    ticks = os.sysconf("SC_CLK_TCK")
    stat = f"42 (python -m x) S 1 2 3 4 5 6 7 8 9 10 {3 * ticks} {ticks} 0 0 20 19 10"
    assert proc_stat_cpu_s(stat) == 4.0


def _item(n: int, lang: str, split: str = "test", kind: str = "fact") -> EvalItem:
    answers = () if kind == "unanswerable" else ("x",)
    return EvalItem(f"{lang}-{n}", lang, f"q{n}", answers, None, None, kind, split)


def test_candidates_alternate_languages_and_keep_answerable_test_items() -> None:
    items = [
        _item(1, "zh"),
        _item(2, "zh", kind="unanswerable"),
        _item(3, "zh", split="dev"),
        _item(4, "zh"),
        _item(5, "en"),
        _item(6, "en"),
    ]
    assert [i.id for i in candidates(items)] == ["zh-1", "en-5", "zh-4", "en-6"]


def test_decode_rates_skip_the_first_piece() -> None:
    assert decode_rate(11, 1.0, 2.0) == 10.0
    assert decode_rate(1, 1.0, 1.0) is None
    assert pooled_rate([(11, 1.0, 2.0), (21, 0.0, 1.0), (1, 0.0, None)]) == 15.0


def _streamed(lang: str, text: str, first: float) -> Streamed:
    return Streamed(
        f"q-{lang}",
        lang,
        0.5,
        first,
        first + 2.0,
        first + 3.0,
        21,
        text,
        (),
        {"first_token": first * 1000},
        cpu_s=10.0,
    )


def test_llm_lines_compare_the_service_with_bare_llama() -> None:
    runs = [_streamed("zh", "甲", 4.0), _streamed("en", "b", 6.0)]
    bare = [Bare(1.0, 3.0, 21, "甲", 40, 4.0, 4.0), Bare(1.0, 3.0, 21, "other", 40, 4.0, 6.0)]
    text = "\n".join(llm_lines(LlmRuns(runs[0], runs, 1, bare), threads=2))
    assert "| measure | all (n=2) | zh (n=1) | en (n=1) |" in text
    assert "| time to first token p50, s (client) | 4.00 | 4.00 | 6.00 |" in text
    assert "| decode tokens/s pooled | 10.00 | 10.00 | 10.00 |" in text
    assert "- decode tokens/s pooled 10.00 (llama.cpp's own counter: 10.00)" in text
    assert (
        "- service / bare decode rate, pooled: 1.00 (service within 0% of bare); "
        "per question p50: 1.00 (service within 0% of bare)"
    ) in text
    assert "- identical text to the service's stream: 1/2 answers" in text
    assert "1 question(s) refused before generation" in text
    assert "- CPU seconds per answer (all, n=2): service process 10.0" in text
    assert "bare 5.0 (prefill + decode) → ratio 2.00" in text
    assert "- CPU seconds per answer (zh, n=1): service process 10.0" in text
    assert "caution" not in text


def test_llm_lines_warn_when_bare_llama_burns_more_cpu_than_the_service() -> None:
    runs = [_streamed("zh", "甲", 4.0)]
    bare = [Bare(1.0, 3.0, 21, "甲", 40, 4.0, 30.0)]
    text = "\n".join(llm_lines(LlmRuns(runs[0], runs, 0, bare), threads=2))
    assert "- caution: bare llama.cpp used more CPU than the whole service request" in text
