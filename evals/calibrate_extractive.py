"""Extractive answering on the eval set's dev split: accuracy by language, and how well
`support` separates answerable from unanswerable questions (to set the refusal threshold).

    python -m evals.calibrate_extractive [--home .xinda] [--eval evals/qa.jsonl]

Only the dev split is read: the test split stays unseen by every tuning decision.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evals.dataset import EvalItem, load_eval_set
from evals.metrics import answer_correct
from index.lexicon import expand_query
from service.language import answer_language_ok
from service.llm.extractive import ExtractiveAnswerer
from service.results import Language
from service.settings import Settings
from service.wiring import make_retriever

SPLIT = "dev"


@dataclass(frozen=True)
class Outcome:
    """One dev question answered extractively."""

    item: EvalItem
    text: str
    support: float
    correct: bool
    language_ok: bool
    answer_ms: float


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    if not positives or not negatives:
        return float("nan")
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def quartiles(values: Sequence[float]) -> str:
    """Mean and quartiles of `values`, formatted."""
    if len(values) < 2:
        return f"n={len(values)} " + " ".join(f"{v:.3f}" for v in values)
    q1, q2, q3 = statistics.quantiles(values, n=4)
    return (
        f"n={len(values)} mean {statistics.fmean(values):.3f}  min {min(values):.3f}  "
        f"q1 {q1:.3f}  median {q2:.3f}  q3 {q3:.3f}  max {max(values):.3f}"
    )


def best_threshold(positives: Sequence[float], negatives: Sequence[float]) -> tuple[float, str]:
    """The support cut that maximises answered-correctly-kept minus negatives-answered."""
    best_cut, best_gain, note = 0.0, float("-inf"), ""
    for cut in sorted({0.0, *positives, *negatives}):
        kept = sum(p >= cut for p in positives)
        leaked = sum(n >= cut for n in negatives)
        # Answering an unanswerable question costs more than refusing an answerable one.
        gain = kept / max(len(positives), 1) - 2 * leaked / max(len(negatives), 1)
        if gain > best_gain:
            best_cut, best_gain = cut, gain
            note = f"keeps {kept}/{len(positives)} correct answers, answers {leaked}/"
            note += f"{len(negatives)} unanswerable"
    return best_cut, note


def run(
    home: Path, eval_path: Path, threads: int = 2, embed_budget: int | None = None
) -> list[Outcome]:
    """Answer every dev item (answerable and not) with the extractive answerer."""
    retriever = make_retriever(Settings(home=home, threads=threads))
    answerer = ExtractiveAnswerer(retriever.embedder)
    if embed_budget is not None:
        answerer = ExtractiveAnswerer(retriever.embedder, embed_budget=embed_budget)
    items = [i for i in load_eval_set(eval_path) if i.split == SPLIT]
    outcomes: list[Outcome] = []
    for item in items:
        lang: Language = "zh" if item.lang == "zh" else "en"
        hits = retriever.search(item.question, k=5).hits
        terms = expand_query(item.question, retriever.lexicon) if lang == "en" else []
        started = time.perf_counter()
        extracted = answerer.answer(item.question, hits, lang, query_terms=terms)
        answer_ms = (time.perf_counter() - started) * 1000
        outcomes.append(
            Outcome(
                item=item,
                text=extracted.text,
                support=extracted.support,
                correct=answer_correct(item, extracted.text, refused=False),
                language_ok=answer_language_ok(extracted.text, lang),
                answer_ms=answer_ms,
            )
        )
    return outcomes


def report(outcomes: Sequence[Outcome]) -> str:
    """Accuracy by language, support distributions and AUC, latency: the printed report."""
    lines: list[str] = [f"extractive answerer on the {SPLIT} split"]
    answerable = [o for o in outcomes if o.item.answerable]
    for lang in ("zh", "en"):
        mine = [o for o in answerable if o.item.lang == lang]
        right = sum(o.correct for o in mine)
        ok = sum(o.language_ok for o in outcomes if o.item.lang == lang)
        total = sum(o.item.lang == lang for o in outcomes)
        lines.append(
            f"  {lang}: accuracy {right}/{len(mine)} = {right / max(len(mine), 1):.3f}; "
            f"answer in the asker's language {ok}/{total}"
        )
    right_all = sum(o.correct for o in answerable)
    lines.append(
        f"  all: accuracy {right_all}/{len(answerable)} = {right_all / len(answerable):.3f}"
    )
    pos = [o.support for o in answerable]
    correct = [o.support for o in answerable if o.correct]
    neg = [o.support for o in outcomes if not o.item.answerable]
    lines += [
        "support",
        f"  answerable     {quartiles(pos)}",
        f"  (correct only) {quartiles(correct)}",
        f"  unanswerable   {quartiles(neg)}",
        f"  AUC answerable vs unanswerable {auc(pos, neg):.3f}; "
        f"correct vs unanswerable {auc(correct, neg):.3f}",
    ]
    cut, note = best_threshold(correct, neg)
    lines.append(f"  suggested refusal threshold {cut:.3f} ({note})")
    times = [o.answer_ms for o in outcomes]
    q = statistics.quantiles(times, n=20) if len(times) >= 2 else times * 19
    lines.append(
        f"answer() latency beyond retrieval: p50 {statistics.median(times):.0f} ms, "
        f"p95 {q[18]:.0f} ms, max {max(times):.0f} ms (n={len(times)})"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Print the dev-split report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--home", type=Path, default=Path(".xinda"))
    parser.add_argument("--eval", type=Path, default=Path("evals/qa.jsonl"))
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for embedding")
    parser.add_argument("--embed-budget", type=int, default=None, help="units embedded")
    parser.add_argument("--misses", action="store_true", help="print each wrong dev answer")
    args = parser.parse_args(argv)
    outcomes = run(args.home, args.eval, args.threads, args.embed_budget)
    if args.misses:
        for o in outcomes:
            if o.item.answerable and not o.correct:
                print(f"{o.item.id} {o.item.answers} support {o.support:.2f}\n  {o.text[:300]}")
    print(report(outcomes))


if __name__ == "__main__":
    main()
