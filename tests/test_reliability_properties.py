"""Property tests (issue 8, B6) for rank fusion and answer-citation normalisation: the
invariants the answer pipeline relies on, over generated inputs."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from index.fusion import reciprocal_rank_fusion
from service.citations import finalise_citations, normalise_markers

rankings = st.dictionaries(
    st.sampled_from(["dense", "bm25", "third"]),
    st.lists(st.integers(0, 40), max_size=25, unique=True),
    max_size=3,
)
weights = st.dictionaries(
    st.sampled_from(["dense", "bm25", "third"]),
    st.one_of(st.just(0.0), st.floats(0.01, 3.0)),  # subnormal weights underflow to 0
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(rankings, weights)
def test_fusion_scores_every_id_once_in_descending_order(
    ranked: dict[str, list[int]], weight: dict[str, float]
) -> None:
    fused = reciprocal_rank_fusion(ranked, weight)
    ids = [i for i, _ in fused]
    assert len(ids) == len(set(ids))
    live = {i for name, lst in ranked.items() if weight.get(name, 1.0) > 0 for i in lst}
    assert set(ids) == live
    scores = [s for _, s in fused]
    assert scores == sorted(scores, reverse=True) and all(s > 0 for s in scores)
    assert reciprocal_rank_fusion(ranked, weight) == fused  # deterministic


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=25, unique=True))
def test_fusion_of_one_list_keeps_its_order(ids: list[int]) -> None:
    assert [i for i, _ in reciprocal_rank_fusion({"dense": ids})] == ids


@settings(max_examples=300, deadline=None)
@given(rankings, st.integers(0, 40))
def test_a_better_rank_never_lowers_the_fused_score(
    ranked: dict[str, list[int]], item: int
) -> None:
    if not ranked:
        return
    name = sorted(ranked)[0]
    worse = [i for i in ranked[name] if i != item] + [item]
    better = [item] + [i for i in ranked[name] if i != item]
    score = dict(reciprocal_rank_fusion({**ranked, name: worse}))[item]
    assert dict(reciprocal_rank_fusion({**ranked, name: better}))[item] >= score


marker_forms = st.sampled_from(["[{n}]", "【{n}】", "［{n}］", "[^{n}]", "[{n}, {m}]", "[{n}-{m}]"])
text_parts = st.lists(
    st.one_of(
        st.text(alphabet="芯片良率封装 the yield is.,。，0123456789", max_size=12),
        st.builds(
            lambda form, n, m: form.format(n=n, m=m),
            marker_forms,
            st.integers(0, 12),
            st.integers(0, 12),
        ),
    ),
    max_size=12,
)


@settings(max_examples=500, deadline=None)
@given(text_parts)
def test_normalising_markers_is_idempotent(parts: list[str]) -> None:
    once = normalise_markers("".join(parts))
    assert normalise_markers(once) == once


@settings(max_examples=500, deadline=None)
@given(text_parts, st.integers(0, 8), st.integers(0, 9))
def test_finalised_citations_point_at_real_passages_numbered_from_one(
    parts: list[str], n_passages: int, best: int
) -> None:
    text, used = finalise_citations("".join(parts), n_passages, best)
    markers = [int(n) for n in re.findall(r"\[(\d+)\]", text)]
    assert all(1 <= p <= n_passages for p in used)
    assert len(used) == len(set(used))
    assert set(markers) == set(range(1, len(used) + 1))  # every [i] has citation i, and back
    first_use = list(dict.fromkeys(markers))
    assert first_use == sorted(first_use)  # numbered in order of first use
    assert finalise_citations(text, len(used), 1)[0] == text  # stable once finalised
