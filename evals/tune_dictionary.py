"""Tune the CC-CEDICT query dictionary on the eval set's dev split only (gates read test).

Prints recall@1/5/10 and MRR per language without the dictionary and for a small grid of
(candidates per word, weight per word, also in the dense query), the Chinese terms each
English dev question gained with `--terms`, and the expansion's time per query.

    python -m evals.tune_dictionary [--terms]
"""

from __future__ import annotations

import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

from evals.dataset import load_eval_set
from evals.run import run_retrieval
from index.dictionary import load_reverse
from index.lexicon import is_english
from service.settings import Settings
from service.wiring import make_retriever

GRID = [(c, w, d) for d in (False, True) for c in (1, 2, 3) for w in (0.25, 0.5, 1.0)]


def main() -> None:
    """Score each dictionary setting on the dev split; the first row is without it."""
    settings = Settings()
    items = [i for i in load_eval_set(Path("evals/qa.jsonl")) if i.split == "dev"]
    retriever = make_retriever(settings.model_copy(update={"query_dictionary": False}))
    started = time.perf_counter()
    reverse = load_reverse(settings.cache_dir)
    print(f"reverse dictionary: {len(reverse.entries)} keys, {time.perf_counter() - started:.2f} s")
    base = retriever.config
    rows = [("off", None)] + [(f"c={c} w={w} dense={d}", (c, w, d)) for c, w, d in GRID]
    for label, knobs in rows:
        retriever.dictionary = None if knobs is None else reverse
        if knobs is not None:
            c, w, d = knobs
            retriever.config = replace(
                base, dictionary_candidates=c, dictionary_weight=w, dictionary_dense=d
            )
        scores = run_retrieval(items, retriever).by_language
        line = "  ".join(
            f"{lang} r@1 {s.recall[1]:.3f} r@5 {s.recall[5]:.3f} r@10 {s.recall[10]:.3f} "
            f"mrr {s.mrr:.3f}"
            for lang, s in sorted(scores.items())
        )
        print(f"{label:24s} {line}", flush=True)
    english = [i.question for i in items if is_english(i.question)]
    retriever.dictionary, retriever.config = reverse, base
    spent = []
    for question in english:
        t = time.perf_counter()
        terms = retriever.dictionary_terms(question)
        spent.append((time.perf_counter() - t) * 1000)
        if "--terms" in sys.argv:
            shown = " ".join(f"{w.english}→{w.term}:{w.weight:.2f}" for w in terms)
            print(f"{question}\n    {shown}")
    print(f"expansion ms/query: median {statistics.median(spent):.2f}, max {max(spent):.2f}")


if __name__ == "__main__":
    main()
