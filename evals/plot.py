"""report.png: accuracy by language × question type, and latency per stage, one row per
answer backend (retrieval recall and search latency when the run answered nothing).

Drawn with matplotlib's Agg canvas directly (no pyplot state, no display needed). Chinese
labels need a CJK font: WenQuanYi Zen Hei (Debian `fonts-wqy-zenhei`, which CI installs)
is registered from its file; without it the labels fall back to English with a warning.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import matplotlib
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

CJK_FONT_FILE: Final = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
TYPES: Final = ("fact", "number", "entity", "list", "definition", "unanswerable")
LANGS: Final = ("zh", "en")
STAGE_ORDER: Final = ("retrieve", "extract", "first_token", "generate", "total")
COLOURS: Final = {"zh": "#c0392b", "en": "#2c7fb8"}
_CJK_NAMES: Final = {
    "fact": "事实",
    "number": "数值",
    "entity": "实体",
    "list": "列举",
    "definition": "定义",
    "unanswerable": "无答案",
    "zh": "中文",
    "en": "英文",
}


class MissingFontWarning(UserWarning):
    """No CJK font was found; the plot's labels are in English only."""


def cjk_font(path: Path | None = None) -> str | None:
    """Register the CJK font file (default CJK_FONT_FILE) with matplotlib and return its
    family name; None, with a warning, when neither it nor an installed CJK family is
    there."""
    path = path or CJK_FONT_FILE
    if path.is_file():
        font_manager.fontManager.addfont(str(path))
        name: str = font_manager.FontProperties(fname=str(path)).get_name()
        return name
    for entry in font_manager.fontManager.ttflist:
        if "WenQuanYi" in entry.name or "CJK" in entry.name:
            return str(entry.name)
    warnings.warn(
        f"no CJK font ({path} missing; Debian: apt-get install fonts-wqy-zenhei): "
        "plot labels are in English only",
        MissingFontWarning,
        stacklevel=2,
    )
    return None


def _label(key: str, chinese: bool) -> str:
    return f"{_CJK_NAMES[key]}\n{key}" if chinese and key in _CJK_NAMES else key


Cell = tuple[float | None, int]  # a value and how many questions it is measured on


def _bars(ax: Axes, values: Mapping[str, Mapping[str, Cell]], title: str, chinese: bool) -> None:
    """Grouped bars: one group per type, one bar per language, labelled "value (n)"."""
    width = 0.38
    kinds = [t for t in TYPES if any(t in values.get(lang, {}) for lang in LANGS)]
    for offset, lang in zip((-width / 2, width / 2), LANGS, strict=True):
        xs, heights, labels = [], [], []
        for x, kind in enumerate(kinds):
            value, n = values.get(lang, {}).get(kind, (None, 0))
            if value is not None:
                xs.append(x + offset)
                heights.append(value)
                labels.append(f"{value:.2f}\n({n})")
        legend = _label(lang, chinese).replace("\n", " ")
        bars = ax.bar(xs, heights, width, label=legend, color=COLOURS[lang])
        ax.bar_label(bars, labels=labels, fontsize=7)
    ax.set_xticks(range(len(kinds)), [_label(k, chinese) for k in kinds], fontsize=8)
    ax.set_ylim(0, 1.18)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(axis="y", alpha=0.3)


def _accuracy_cells(groups: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Cell]]:
    out: dict[str, dict[str, Cell]] = {}
    for key, block in groups.items():
        lang, kind = key.split("/", 1)
        cell = (block.get("accuracy"), block.get("answerable", 0))
        if kind == "unanswerable":  # refusing is the right answer there
            cell = (block.get("refusal_recall"), block.get("unanswerable", 0))
        out.setdefault(lang, {})[kind] = cell
    return out


def _recall_cells(groups: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Cell]]:
    out: dict[str, dict[str, Cell]] = {}
    for key, block in groups.items():
        lang, kind = key.split("/", 1)
        out.setdefault(lang, {})[kind] = (block.get("recall@5"), block.get("n", 0))
    return out


def _latency_boxes(ax: Axes, records: Mapping[str, Mapping[str, Any]], title: str) -> None:
    samples: dict[str, list[float]] = {}
    for record in records.values():
        for stage, ms in record.get("timings_ms", {}).items():
            samples.setdefault(stage, []).append(float(ms))
    stages = [s for s in STAGE_ORDER if samples.get(s)]
    if not stages:
        ax.text(0.5, 0.5, "no timings", ha="center", va="center", transform=ax.transAxes)
        return
    ax.boxplot([samples[s] for s in stages], tick_labels=stages, showfliers=True)
    low = min(min(samples[s]) for s in stages)
    high = max(max(samples[s]) for s in stages)
    if low > 0 and high / low > 50:  # extract takes ms, an LLM seconds: log scale shows both
        ax.set_yscale("log")
    ax.set_ylabel("ms")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="y", alpha=0.3)


def _search_latency(ax: Axes, retrieval: Sequence[Mapping[str, Any]], title: str) -> None:
    modes = [r["mode"] for r in retrieval]
    for offset, q in ((-0.2, "p50"), (0.2, "p95")):
        heights = [r["latency_ms"][q] or 0.0 for r in retrieval]
        ax.bar([i + offset for i in range(len(modes))], heights, 0.38, label=q)
    ax.set_xticks(range(len(modes)), modes, fontsize=8)
    ax.set_ylabel("ms")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)


def plot_report(data: Mapping[str, Any], path: Path) -> None:
    """Draw the report's two panels per backend into a PNG at `path`."""
    family = cjk_font()
    sans = [family or "DejaVu Sans", "DejaVu Sans"]
    # WenQuanYi Zen Hei has one weight (medium); matplotlib logs "failed to find font
    # weight normal" for every label it draws with it, which is noise in a CI log.
    quiet = logging.getLogger("matplotlib.font_manager")
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        with matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": sans}):
            _figure(data, chinese=family is not None).savefig(path, dpi=110)
    finally:
        quiet.setLevel(level)


def _figure(data: Mapping[str, Any], chinese: bool) -> Figure:
    answers: Mapping[str, Mapping[str, Any]] = data.get("answers", {})
    figure = Figure(figsize=(13, 4.6 * max(1, len(answers))), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(max(1, len(answers)), 2, squeeze=False)
    for row, (backend, summary) in enumerate(answers.items()):
        title = "答案准确率（按语言 × 题型）" if chinese else "Answer accuracy"
        cells = _accuracy_cells(summary["by_language_type"])
        _bars(axes[row][0], cells, f"{title} — {backend}\n(unanswerable: share refused)", chinese)
        heading = "各阶段延迟" if chinese else "Latency per stage"
        records = data.get("items", {}).get(backend, {})
        _latency_boxes(axes[row][1], records, f"{heading} — {backend}")
    if not answers and data.get("retrieval"):
        first = data["retrieval"][0]
        title = "检索 recall@5（按语言 × 题型）" if chinese else "Retrieval recall@5"
        cells = _recall_cells(first["by_language_type"])
        _bars(axes[0][0], cells, f"{title} — {first['mode']}", chinese)
        _search_latency(axes[0][1], data["retrieval"], "检索延迟" if chinese else "Search latency")
    return figure
