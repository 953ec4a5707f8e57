"""Whether retrieval found the answer: decided in code, not left to the model.

FINDINGS.md: the top dense cosine cannot separate answerable from unanswerable questions
(AUC 0.69). Unanswerable analyst questions usually combine familiar terms with one
specific term the documents never use together with them (a plant, a year, a product).
So the check is lexical: the IDF-weighted share of the question's terms that occur in one
retrieved passage, combined with the extractive answer's support score.

Off-topic questions are another matter: "Which planet is the largest in the solar
system?" shares one known word with the documents ("largest" → 最大) and covers 1.0, but
no passage is near it in embedding space. `topicality` is that signal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from index.keyword import tokenize
from index.retriever import Hit


def topicality(hits: Sequence[Hit]) -> float:
    """The best embedding cosine between the question as asked and a retrieved passage;
    1.0 when no dense retriever ran (nothing to judge by)."""
    return max((s for h in hits if (s := h.dense_score) is not None), default=1.0)


def idf(token: str, document_frequency: Callable[[str], int], total_documents: int) -> float:
    """BM25's inverse document frequency of a token (0 for one every passage holds)."""
    return max(0.0, math.log((total_documents + 1) / (document_frequency(token) + 0.5)))


def term_coverage(
    question_tokens: Sequence[str],
    passages: Sequence[str],
    document_frequency: Callable[[str], int],
    total_documents: int,
) -> float:
    """Best IDF-weighted share of the question's distinct tokens found in one passage."""
    groups = [[t] for t in sorted(set(question_tokens))]
    return grouped_coverage(groups, passages, document_frequency, total_documents)


def grouped_coverage(
    groups: Sequence[Sequence[str]],
    passages: Sequence[str],
    document_frequency: Callable[[str], int],
    total_documents: int,
    absent: int = 0,
) -> float:
    """Best IDF-weighted share of the question's term groups found in one passage.

    A group is one word of the question with its alternatives (an English word's
    dictionary translations: start → 开始 / 启动); it is found when any alternative is
    among the passage's tokens, and it weighs as its most frequent alternative, so a rare
    but wrong translation cannot inflate the question's weight. `absent` counts concepts
    of the question known to be in no passage, each weighing as a token no passage holds.
    """
    unique = list({tuple(sorted(set(g))): None for g in groups if g})
    if not unique or not passages or total_documents <= 0:
        return 0.0
    weights = [min(idf(t, document_frequency, total_documents) for t in g) for g in unique]
    total = sum(weights) + absent * idf("", lambda _: 0, total_documents)
    if total <= 0:
        return 0.0
    best = 0.0
    for passage in passages:
        present = set(tokenize(passage))
        found = sum(w for g, w in zip(unique, weights, strict=True) if present.intersection(g))
        best = max(best, found / total)
    return best
