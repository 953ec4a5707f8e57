"""Tune fusion weights on the eval set's dev split only (gates read the test split).

Each retriever runs once per question; the grid over RRF k and per-language weights is
then pure arithmetic. Prints the best settings per language by recall@5, then MRR.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from evals.dataset import load_eval_set
from evals.metrics import first_relevant_rank, retrieval_scores
from index.fusion import reciprocal_rank_fusion
from index.retriever import HybridRetriever
from service.settings import Settings
from service.wiring import make_retriever

DEPTH = 50


def rankings(retriever: HybridRetriever, question: str, expand: bool) -> dict[str, list[int]]:
    """Each retriever's ranked rows for one question (the lists `search` fuses)."""
    ranked = retriever.rankings(question, DEPTH, expand=expand)
    return {"dense": [i for i, _ in ranked.dense], "bm25": [i for i, _ in ranked.bm25]}


def main() -> None:
    """Grid-search RRF k and (dense, bm25) weights per language on the dev split."""
    eval_set = Path(sys.argv[1] if len(sys.argv) > 1 else "evals/qa.jsonl")
    items = [i for i in load_eval_set(eval_set) if i.split == "dev" and i.answerable]
    retriever = make_retriever(Settings())
    chunks = retriever.chunks
    for lang in ("zh", "en"):
        group = [i for i in items if i.lang == lang]
        for expand in (False, True) if lang == "en" else (False,):
            cached = [rankings(retriever, i.question, expand) for i in group]
            results = []
            for k, wd, wb in itertools.product(
                (5, 10, 20, 40, 60), (1.0,), (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
            ):
                ranks = []
                for item, lists in zip(group, cached, strict=True):
                    fused = reciprocal_rank_fusion(lists, {"dense": wd, "bm25": wb}, k=k)[:10]
                    hits = [(chunks[r].source, chunks[r].text) for r, _ in fused]
                    ranks.append(first_relevant_rank(item, hits))
                s = retrieval_scores(ranks)
                results.append((s.recall[5], s.mrr, s.recall[1], k, wd, wb))
            results.sort(reverse=True)
            print(f"{lang} expand={expand} n={len(group)} (r@5, mrr, r@1, rrf_k, w_dense, w_bm25)")
            for row in results[:5]:
                print("   ", " ".join(f"{x:.3f}" if isinstance(x, float) else str(x) for x in row))


if __name__ == "__main__":
    main()
