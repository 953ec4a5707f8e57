"""The stratified sample: fixed, proportional, every language × type present."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from evals.dataset import EvalItem, load_eval_set
from evals.sample import stratified_sample

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def test_split() -> list[EvalItem]:
    return [i for i in load_eval_set(ROOT / "evals" / "qa.jsonl") if i.split == "test"]


def made_up(sizes: dict[tuple[str, str], int]) -> list[EvalItem]:
    items = []
    for (lang, kind), n in sizes.items():
        for k in range(n):
            answers: tuple[str, ...] = () if kind == "unanswerable" else ("a",)
            items.append(EvalItem(f"{lang}-{kind}-{k}", lang, "q", answers, None, None, kind))
    return items


def strata(items: list[EvalItem]) -> Counter[tuple[str, str]]:
    return Counter((i.lang, i.type) for i in items)


def test_same_items_every_time_whatever_the_order(test_split: list[EvalItem]) -> None:
    first = stratified_sample(test_split, 40)
    again = stratified_sample(list(reversed(test_split)), 40)
    assert [i.id for i in first] == [i.id for i in stratified_sample(test_split, 40)]
    assert {i.id for i in first} == {i.id for i in again}


def test_sample_of_40_covers_every_stratum_in_proportion(test_split: list[EvalItem]) -> None:
    sample = stratified_sample(test_split, 40)
    assert len(sample) == 40
    whole, picked = strata(test_split), strata(sample)
    assert set(picked) == set(whole)
    for stratum, n in whole.items():
        # one each, then the remaining 28 in proportion to what is left of each stratum
        extra = 28 * (n - 1) / (len(test_split) - len(whole))
        assert int(extra) <= picked[stratum] - 1 <= int(extra) + 1, stratum


def test_sample_keeps_the_set_order(test_split: list[EvalItem]) -> None:
    positions = {i.id: k for k, i in enumerate(test_split)}
    sample = stratified_sample(test_split, 25)
    assert [positions[i.id] for i in sample] == sorted(positions[i.id] for i in sample)


def test_another_seed_draws_other_items(test_split: list[EvalItem]) -> None:
    ids = {i.id for i in stratified_sample(test_split, 40)}
    assert ids != {i.id for i in stratified_sample(test_split, 40, seed="other")}


def test_whole_set_when_n_is_not_smaller() -> None:
    items = made_up({("zh", "fact"): 3, ("en", "list"): 2})
    assert stratified_sample(items, 5) == items
    assert stratified_sample(items, 50) == items


def test_fewer_items_than_strata_go_to_the_largest() -> None:
    items = made_up({("zh", "fact"): 10, ("en", "list"): 2, ("en", "fact"): 1})
    assert strata(stratified_sample(items, 2)) == Counter({("zh", "fact"): 2})


@pytest.mark.parametrize("n", [3, 4, 7, 11, 12])
def test_exact_size_and_no_stratum_overdrawn(n: int) -> None:
    items = made_up({("zh", "fact"): 7, ("en", "list"): 2, ("en", "fact"): 1, ("zh", "list"): 3})
    sample = stratified_sample(items, n)
    assert len(sample) == n
    assert all(strata(sample)[s] <= c for s, c in strata(items).items())
    if n >= 4:  # enough for one of each stratum
        assert len(strata(sample)) == 4
