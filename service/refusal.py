"""Whether retrieval found the answer: decided in code, not left to the model.

FINDINGS.md: the top dense cosine cannot separate answerable from unanswerable questions
(AUC 0.69). Unanswerable analyst questions usually combine familiar terms with one
specific term the documents never use together with them (a plant, a year, a product).
So the check is lexical: the IDF-weighted share of the question's terms that occur in one
retrieved passage, combined with the extractive answer's support score.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from index.keyword import tokenize


def term_coverage(
    question_tokens: Sequence[str],
    passages: Sequence[str],
    document_frequency: Callable[[str], int],
    total_documents: int,
) -> float:
    """Best IDF-weighted share of the question's distinct tokens found in one passage."""
    tokens = sorted(set(question_tokens))
    if not tokens or not passages or total_documents <= 0:
        return 0.0
    weights = {t: math.log((total_documents + 1) / (document_frequency(t) + 0.5)) for t in tokens}
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    best = 0.0
    for passage in passages:
        present = set(tokenize(passage))
        best = max(best, sum(w for t, w in weights.items() if t in present) / total)
    return best
