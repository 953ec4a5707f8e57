"""Synthetic chunk sets for the scale bench, drawn to look like the real corpus.

Embedding a million passages on 2 cores would take about a day, so the bench cannot use
real vectors at 1M. Uniform random unit vectors would be useless: in 384 dimensions they
are all nearly orthogonal, every index finds their neighbours equally badly, and recall
measured on them says nothing about text embeddings. So each synthetic vector is a
random convex mixture of three real chunk embeddings (Dirichlet weights) plus Gaussian
noise scaled to the real spread, re-normalised: it stays on the part of the sphere E5
actually uses, keeps its strong shared direction, and fills the space between real
chunks. `describe_similarity` reports how close the result is to the real distribution.

Texts are not written out: BM25 needs only token ids. Each synthetic chunk takes its
length from a random real chunk and draws 70 % of its tokens from the real chunk that
dominates its vector mixture (so text and vector agree on the topic) and 30 % from the
corpus's token distribution as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
MIX = 3  # real embeddings per synthetic vector
# Noise std as a share of the real per-dimension spread. Measured on the bundled corpus
# (433 chunks): at 0.5 random pairs have mean cosine 0.906 (real 0.877) and a chunk's
# nearest neighbour 0.950 (real 0.954); at 0.7, 0.879 and 0.924. 0.6 sits between.
NOISE = 0.6
TOPIC_SHARE = 0.7  # share of a synthetic text's tokens drawn from its dominant chunk


@dataclass(frozen=True)
class RealCorpus:
    """What the synthetic sets are drawn from: the indexed corpus's vectors and tokens."""

    vectors: Vectors  # (m, d), unit rows
    token_ids: npt.NDArray[np.int32]  # every chunk's tokens, concatenated
    offsets: npt.NDArray[np.int64]  # chunk i's tokens: token_ids[offsets[i]:offsets[i+1]]
    vocabulary: tuple[str, ...]  # token id → token

    @classmethod
    def from_tokens(cls, vectors: Vectors, tokens: list[list[str]]) -> RealCorpus:
        """Intern the tokens of each real chunk."""
        ids: dict[str, int] = {}
        flat = [ids.setdefault(t, len(ids)) for chunk in tokens for t in chunk]
        offsets = np.cumsum([0] + [len(chunk) for chunk in tokens]).astype(np.int64)
        return cls(vectors, np.asarray(flat, dtype=np.int32), offsets, tuple(ids))

    @property
    def lengths(self) -> npt.NDArray[np.int64]:
        """Tokens per real chunk."""
        return np.diff(self.offsets)


@dataclass(frozen=True)
class SyntheticSet:
    """n chunks: vectors and token ids (CSR-like: doc i = token_ids[offsets[i]:offsets[i+1]])."""

    vectors: Vectors
    token_ids: npt.NDArray[np.int32]
    offsets: npt.NDArray[np.int64]
    dominant: npt.NDArray[np.int64]  # the real chunk each synthetic one is mostly made of

    def __len__(self) -> int:
        return int(self.vectors.shape[0])


def synthesize(real: RealCorpus, n: int, seed: int = 0, batch: int = 100_000) -> SyntheticSet:
    """Draw n synthetic chunks (vectors and tokens) from the real corpus."""
    rng = np.random.default_rng(seed)
    m, d = real.vectors.shape
    spread = float(np.std(real.vectors - real.vectors.mean(axis=0), axis=0).mean())
    vectors = np.empty((n, d), dtype=np.float32)
    dominant = np.empty(n, dtype=np.int64)
    for lo in range(0, n, batch):
        b = min(batch, n - lo)
        picks = rng.integers(0, m, size=(b, MIX))
        weights = rng.dirichlet(np.ones(MIX), size=b).astype(np.float32)
        mixed = np.einsum("bk,bkd->bd", weights, real.vectors[picks])
        mixed += rng.normal(0.0, NOISE * spread, size=(b, d)).astype(np.float32)
        mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
        vectors[lo : lo + b] = mixed
        dominant[lo : lo + b] = picks[np.arange(b), weights.argmax(axis=1)]
    lengths = real.lengths[rng.integers(0, m, size=n)]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    token_ids = np.empty(int(offsets[-1]), dtype=np.int32)
    for lo in range(0, n, batch):  # in batches: at 1M the temporaries would take ~7 GB
        hi = min(n, lo + batch)
        owner = np.repeat(dominant[lo:hi], lengths[lo:hi])
        own_start, own_len = real.offsets[owner], real.lengths[owner]
        from_topic = rng.random(owner.size) < TOPIC_SHARE
        position = np.where(
            from_topic,
            own_start + (rng.random(owner.size) * own_len).astype(np.int64),
            (rng.random(owner.size) * real.token_ids.size).astype(np.int64),
        )
        token_ids[offsets[lo] : offsets[hi]] = real.token_ids[position]
    return SyntheticSet(vectors, token_ids, offsets, dominant)


def describe_similarity(real: Vectors, synthetic: Vectors, queries: Vectors) -> dict[str, float]:
    """Mean cosine of random pairs and of each query's best match, real vs synthetic: the
    check that the synthetic set sits where real embeddings do."""
    rng = np.random.default_rng(1)
    sample = synthetic[rng.choice(len(synthetic), size=min(len(synthetic), 2000), replace=False)]

    def pairs(x: Vectors) -> float:
        a, b = rng.integers(0, len(x), size=(2, 5000))
        keep = a != b
        return float(np.einsum("nd,nd->n", x[a[keep]], x[b[keep]]).mean())

    def nearest(x: Vectors) -> float:
        sims = x @ x.T
        np.fill_diagonal(sims, -1.0)
        return float(sims.max(axis=1).mean())

    return {
        "pair_cosine_real": pairs(real),
        "pair_cosine_synthetic": pairs(sample),
        "nn_cosine_real": nearest(real),
        "nn_cosine_synthetic_same_size": nearest(sample[: len(real)]),
        "query_top1_real": float((queries @ real.T).max(axis=1).mean()),
        "query_top1_synthetic_same_size": float(
            (queries @ sample[: len(real)].T).max(axis=1).mean()
        ),
    }
