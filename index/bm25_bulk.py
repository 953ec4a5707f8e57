"""BM25 built from token ids in a few numpy passes, for corpora of a million chunks.

bm25s builds its score matrix with a Python loop per document (a `Counter`, set
intersections) over lists of Python strings: at 1M chunks of ~150 tokens that is 150M
string objects, several GB and many minutes on 2 cores. The same matrix comes out of a
sort and a few vectorised formulas over int32 token ids. The result is handed to bm25s
as its own `scores` and `vocab_dict`, so it is saved and loaded by the same code as
every other keyword index; `tests/test_scale.py` checks it equals bm25s's own build.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import bm25s
import numpy as np
import numpy.typing as npt

from index.keyword import BM25Index

K1 = 1.5  # bm25s's defaults (Lucene variant); BM25Index.build uses them too
B = 0.75


def bm25_from_ids(
    token_ids: npt.NDArray[np.int32],
    offsets: npt.NDArray[np.int64],
    vocabulary: Sequence[str],
    terms: Sequence[str] = (),
) -> BM25Index:
    """A BM25Index over n documents, document i = token_ids[offsets[i]:offsets[i+1]]
    (ids into `vocabulary`); `terms` are the jieba domain terms the tokens were cut with."""
    n = len(offsets) - 1
    # bm25s keeps an empty token at the end of its vocabulary; so does this build.
    vocabulary = [*vocabulary, ""] if "" not in vocabulary else list(vocabulary)
    vocab_size = len(vocabulary)
    lengths = np.diff(offsets)
    doc = np.repeat(np.arange(n, dtype=np.int64), lengths)
    # One key per (document, term); sorting groups a document's repeats of a term.
    keys, tf = np.unique(doc * vocab_size + token_ids.astype(np.int64), return_counts=True)
    del doc
    docs = (keys // vocab_size).astype(np.int32)
    term = (keys % vocab_size).astype(np.int32)
    del keys
    df = np.bincount(term, minlength=vocab_size)
    # bm25s computes in float32 with the Lucene formulas:
    # idf = ln(1 + (N - df + 0.5) / (df + 0.5)); tfc = tf / (k1 (1 - b + b dl / avgdl) + tf)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)
    avg = np.float32(lengths.mean()) if n else np.float32(1.0)
    tf32 = tf.astype(np.float32)
    norm = np.float32(K1) * (
        np.float32(1 - B) + np.float32(B) * lengths[docs].astype(np.float32) / avg
    )
    scores = idf[term] * (tf32 / (norm + tf32))
    # CSC by term: a stable sort by term keeps each column's documents ascending.
    order = np.argsort(term, kind="stable")
    indptr = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
    model: Any | None = None
    if n and token_ids.size:
        model = bm25s.BM25(k1=K1, b=B)
        model.scores = {
            "data": scores[order].astype(np.float32),
            "indices": docs[order].astype(np.int32),
            "indptr": indptr,
            "num_docs": n,
        }
        model.vocab_dict = {vocabulary[i]: i for i in range(vocab_size)}
        model.unique_token_ids_set = set(model.vocab_dict.values())
        model.nonoccurrence_array = None  # only BM25L and BM25+ use one
    return BM25Index(model, n, terms)
