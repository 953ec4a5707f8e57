"""Eval metrics as pure functions: retrieval recall@k and MRR, answer matching, citation
checks, shares and percentiles."""

from __future__ import annotations

import html
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from evals.dataset import EvalItem, normalise_for_match

RECALL_KS = (1, 5, 10)


def holds_evidence(item: EvalItem, source: str, text: str) -> bool:
    """A retrieved passage is relevant when it is from the item's document and holds its
    evidence (compared after `normalise_for_match`: width, case, spaces, punctuation)."""
    if item.evidence is None or item.doc is None or source != item.doc:
        return False
    return normalise_for_match(item.evidence) in normalise_for_match(text)


def first_relevant_rank(item: EvalItem, hits: Sequence[tuple[str, str]]) -> int | None:
    """1-based rank of the first relevant `(source, text)` hit, or None."""
    for rank, (source, text) in enumerate(hits, start=1):
        if holds_evidence(item, source, text):
            return rank
    return None


@dataclass(frozen=True)
class RetrievalScores:
    """Recall@k and MRR over a group of answerable questions."""

    n: int
    recall: dict[int, float]
    mrr: float

    def to_dict(self) -> dict[str, float | int]:
        """Flat JSON-ready figures."""
        return {"n": self.n, **{f"recall@{k}": v for k, v in self.recall.items()}, "mrr": self.mrr}


def retrieval_scores(ranks: Sequence[int | None], ks: Iterable[int] = RECALL_KS) -> RetrievalScores:
    """Aggregate first-relevant ranks (None = not found) into recall@k and MRR."""
    n = len(ranks)
    if n == 0:
        return RetrievalScores(0, dict.fromkeys(ks, 0.0), 0.0)
    recall = {k: sum(1 for r in ranks if r is not None and r <= k) / n for k in ks}
    mrr = sum(1.0 / r for r in ranks if r is not None) / n
    return RetrievalScores(n, recall, mrr)


def grouped(
    items: Sequence[EvalItem], ranks: Sequence[int | None], key: Callable[[EvalItem], str]
) -> dict[str, RetrievalScores]:
    """Retrieval scores per group (e.g. by language or type)."""
    groups: dict[str, list[int | None]] = defaultdict(list)
    for item, rank in zip(items, ranks, strict=True):
        groups[key(item)].append(rank)
    return {name: retrieval_scores(r) for name, r in sorted(groups.items())}


# Citation markers are not part of what the answer says: "3[1]" must not match a gold "31".
_MARKER = re.compile(r"\[\^?\d+\]|【\d+】")


def answer_correct(item: EvalItem, answer: str, refused: bool) -> bool:
    """An answerable item is right when not refused and any gold string (or, for an English
    item, any of its English renderings) occurs in the answer, both folded by
    `normalise_for_match` (width, case, spaces, punctuation, thousands separators) and the
    answer's citation markers removed."""
    if not item.answerable or refused:
        return False
    text = normalise_for_match(_MARKER.sub(" ", answer))
    golds = (normalise_for_match(gold) for gold in (*item.answers, *item.answers_en))
    # A gold string of punctuation alone folds to "" and would match every answer.
    return any(gold and gold in text for gold in golds)


def share(flags: Iterable[bool]) -> float | None:
    """The share of true flags; None for no flags (a metric with nothing to measure)."""
    values = list(flags)
    return sum(values) / len(values) if values else None


def percentile(values: Iterable[float], q: float) -> float | None:
    """The nearest-rank q-th percentile (0 < q <= 100); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def squash_markup(text: str) -> str:
    """Text with whitespace, markup and formatting characters removed (for line checks)."""
    text = html.unescape(re.sub(r"<[^<>]*>", "", text))
    for command, symbol in ((r"\times", "×"), (r"\mu", "μ"), (r"\cdot", "·")):
        text = text.replace(command, symbol)
    text = re.sub(r"\\[a-zA-Z]+", "", unicodedata.normalize("NFKC", text))
    drop = set("*#$\\{}_^`~|-•◆▲●■·\ufffd")
    return "".join(ch for ch in text if ch not in drop and not ch.isspace())


def citation_lines_hold_text(text: str, file_lines: Sequence[str], start: int, end: int) -> bool:
    """Every line of a cited passage occurs within lines start..end of its source file."""
    if not 1 <= start <= end <= len(file_lines):
        return False
    span = squash_markup("".join(file_lines[start - 1 : end]))
    return all(squash_markup(part) in span for part in text.split("\n"))
