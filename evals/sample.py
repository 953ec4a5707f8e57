"""A fixed stratified sample of an eval set, for runs too slow to answer every item (the
local LLM): the same items every run, every language × type present, in proportion."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Final

from evals.dataset import EvalItem

DEFAULT_SEED: Final = "xinda-eval-1"


def _order_key(seed: str, item_id: str) -> str:
    # A hash of the id, not `random`: the pick must not depend on Python's version or on
    # the order of lines in the file, only on the ids and the seed.
    return hashlib.sha256(f"{seed}\0{item_id}".encode()).hexdigest()


def _quotas(sizes: dict[tuple[str, str], int], n: int) -> dict[tuple[str, str], int]:
    """Items per stratum: one each while n allows, the rest in proportion to what is left
    (largest remainders first; ties broken by the stratum's name)."""
    strata = sorted(sizes)
    quota = dict.fromkeys(strata, 0)
    if n >= len(strata):
        quota = dict.fromkeys(strata, 1)
        n -= len(strata)
    left = {s: sizes[s] - quota[s] for s in strata}
    total = sum(left.values())
    if n <= 0 or total == 0:
        return quota
    exact = {s: n * left[s] / total for s in strata}
    for s in strata:
        quota[s] += int(exact[s])
    remaining = n - sum(int(exact[s]) for s in strata)
    by_remainder = sorted(strata, key=lambda s: (-(exact[s] - int(exact[s])), s))
    for s in by_remainder[:remaining]:
        quota[s] += 1
    return quota


def stratified_sample(
    items: Sequence[EvalItem], n: int, seed: str = DEFAULT_SEED
) -> list[EvalItem]:
    """`n` items drawn by language × type, the same for the same ids and seed; all items
    when n is not smaller than the set. The sample keeps the set's order."""
    if n >= len(items):
        return list(items)
    strata: dict[tuple[str, str], list[EvalItem]] = {}
    for item in items:
        strata.setdefault((item.lang, item.type), []).append(item)
    quota = _quotas({s: len(members) for s, members in strata.items()}, n)
    chosen: set[str] = set()
    for stratum, members in strata.items():
        ranked = sorted(members, key=lambda i: _order_key(seed, i.id))
        chosen.update(i.id for i in ranked[: quota[stratum]])
    return [i for i in items if i.id in chosen]
