"""Calibrate the refusal thresholds (support, term coverage) on the dev split only.

Prints, for a grid of thresholds, the share of unanswerable questions refused, the share
of answerable ones wrongly refused, and extractive accuracy, so the settings' defaults can
be chosen with the trade-off in view; `--focus` adds the focus check (the best sentence
must show the question's metric, year and name: service/answer_check.py) to every row.
Then, per language, the same for the similarity floor (refusal.topicality, the best
passage cosine: off-topic questions) on top of the configured support and coverage.
Gates read the test split, never used here.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from evals.dataset import EvalItem, load_eval_set
from evals.metrics import answer_correct
from service.settings import Settings
from service.wiring import make_pipeline, make_retriever

Row = tuple[EvalItem, float, float, bool, bool]  # item, support, coverage, correct, missed
SIMILARITY_GRID = (0.0, 0.75, 0.76, 0.765, 0.77, 0.78, 0.8, 0.82, 0.84, 0.85, 0.86, 0.87)
SUPPORT_GRID = (0.0, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5)
COVERAGE_GRID = (0.0, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)
MAX_WRONG_REFUSAL = 0.10  # the acceptance floor for answerable questions


def main() -> None:
    """Measure (support, coverage, correct) per dev item, then sweep thresholds."""
    args = [a for a in sys.argv[1:] if a != "--focus"]
    with_focus = "--focus" in sys.argv[1:]
    eval_set = Path(args[0] if args else "evals/qa.jsonl")
    items = [i for i in load_eval_set(eval_set) if i.split == "dev"]
    settings = Settings(
        llm="extractive",
        refusal_support=0.0,
        refusal_coverage_zh=0.0,
        refusal_coverage_en=0.0,
        refusal_focus=False,
    )
    retriever = make_retriever(settings)
    pipeline = make_pipeline(settings, lambda: retriever)
    rows: list[Row] = []
    similarity: list[float] = []
    for item in items:
        prepared = pipeline.prepare(item.question, backend="extractive")
        correct = answer_correct(item, prepared.extracted.text, refused=False)
        missed = with_focus and bool(prepared.extracted.misses)
        rows.append((item, prepared.extracted.support, prepared.coverage, correct, missed))
        similarity.append(prepared.topicality)
    ans = [r for r in rows if r[0].answerable]
    unans = [r for r in rows if not r[0].answerable]
    print(f"dev: {len(ans)} answerable, {len(unans)} unanswerable")
    for label, group in (("answerable", ans), ("unanswerable", unans)):
        cov = sorted(r[2] for r in group)
        print(
            f"  coverage {label}: min {cov[0]:.2f} q1 {cov[len(cov) // 4]:.2f} "
            f"median {cov[len(cov) // 2]:.2f}"
        )
    for lang in ("zh", "en"):
        l_ans = [r for r in ans if r[0].lang == lang]
        l_unans = [r for r in unans if r[0].lang == lang]
        results = []
        for s_thr, c_thr in itertools.product(SUPPORT_GRID, COVERAGE_GRID):

            def refused(r: Row, s_thr: float = s_thr, c_thr: float = c_thr) -> bool:
                return r[4] or r[1] < s_thr or r[2] < c_thr

            refused_unans = sum(refused(r) for r in l_unans) / max(1, len(l_unans))
            wrong_refusal = sum(refused(r) for r in l_ans) / len(l_ans)
            accuracy = sum(r[3] and not refused(r) for r in l_ans) / len(l_ans)
            results.append((refused_unans, -wrong_refusal, accuracy, s_thr, c_thr))
        print(f"{lang}: {len(l_ans)} answerable, {len(l_unans)} unanswerable")
        print("  refused-unanswerable  wrongly-refused  accuracy  support>=  coverage>=")
        allowed = [r for r in results if -r[1] <= MAX_WRONG_REFUSAL]
        for ru, nwr, acc, s_thr, c_thr in sorted(allowed, reverse=True)[:8]:
            print(f"  {ru:.2f}  {-nwr:.2f}  {acc:.3f}  {s_thr:.2f}  {c_thr:.2f}")
    defaults = Settings()
    for lang in ("zh", "en"):
        floors = (defaults.refusal_support, getattr(defaults, f"refusal_coverage_{lang}"))
        print(f"{lang}: similarity floor over support>={floors[0]} coverage>={floors[1]}")
        for s_floor in SIMILARITY_GRID:
            refused_u = wrong = right = 0
            for (item, support, coverage, correct, missed), sim in zip(
                rows, similarity, strict=True
            ):
                if item.lang != lang:
                    continue
                out = missed or support < floors[0] or coverage < floors[1] or sim < s_floor
                refused_u += out and not item.answerable
                wrong += out and item.answerable
                right += correct and not out
            print(
                f"  similarity>={s_floor:.3f}: unanswerable refused {refused_u}  "
                f"answerable wrongly refused {wrong}  right {right}"
            )
    for item, support, coverage, _, missed in unans:
        print(
            f"  unanswerable {item.id}: support {support:.2f} coverage {coverage:.2f}"
            f"{' focus missed' if missed else ''}"
        )


if __name__ == "__main__":
    main()
