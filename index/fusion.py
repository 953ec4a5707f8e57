"""Rank fusion of several retrievers' result lists (pure functions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

RRF_K = 60


def reciprocal_rank_fusion(
    rankings: Mapping[str, Sequence[int]],
    weights: Mapping[str, float] | None = None,
    k: int = RRF_K,
) -> list[tuple[int, float]]:
    """Fuse ranked id lists: score(id) = Σ weight_r / (k + rank_r(id)), ranks from 1.

    RRF needs no score calibration between BM25 and cosine, which live on unrelated
    scales; the weights let the fusion lean on the retriever that works for a query's
    language (BM25 matches little of an English question over Chinese text). Ties are
    broken by the best single rank, then by id, so the order is deterministic.
    """
    weights = weights or {}
    scores: dict[int, float] = {}
    best: dict[int, int] = {}
    for name, ids in rankings.items():
        weight = weights.get(name, 1.0)
        if weight <= 0:
            continue
        for rank, item in enumerate(ids, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
            best[item] = min(best.get(item, rank), rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], best[kv[0]], kv[0]))
