"""Hybrid retrieval: dense (E5) + BM25 (jieba) fused by language-aware RRF → Hits."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from index.dictionary import ReverseDictionary, WeightedTerm, absent_keys, translate
from index.embed import Embedder
from index.fusion import reciprocal_rank_fusion
from index.keyword import KeywordIndex, tokenize
from index.lexicon import Lexicon, expand_query, is_english, uncovered_runs
from index.vectors import VectorStore
from ingest.document import Chunk
from ingest.errors import BadInput

Mode = Literal["hybrid", "dense", "bm25"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "bm25")


@dataclass(frozen=True, slots=True)
class RetrieverRank:
    """Where one retriever placed a chunk."""

    rank: int
    score: float


@dataclass(frozen=True, slots=True)
class Why:
    """Why a passage was picked: each retriever's rank and score, and the text searched."""

    dense: RetrieverRank | None
    bm25: RetrieverRank | None
    query: str

    def to_dict(self) -> dict[str, Any]:
        """CONTRACT shape of the `why` field."""

        def one(r: RetrieverRank | None) -> dict[str, Any] | None:
            return None if r is None else {"rank": r.rank, "score": round(r.score, 4)}

        return {"dense": one(self.dense), "bm25": one(self.bm25), "query": self.query}


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved chunk with its rank and score."""

    rank: int
    score: float
    chunk: Chunk
    why: Why | None = None

    @property
    def dense_score(self) -> float | None:
        """The embedding cosine of the query and this passage; None when no dense search
        ranked it."""
        return self.why.dense.score if self.why is not None and self.why.dense is not None else None

    def to_dict(self) -> dict[str, Any]:
        """CONTRACT shape of a Hit."""
        data: dict[str, Any] = {"rank": self.rank, **self.chunk.to_dict()}
        data["score"] = round(self.score, 6)
        if self.why is not None:
            data["why"] = self.why.to_dict()
        return data


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Hits for one query and where the time went."""

    query: str
    hits: tuple[Hit, ...]
    timings_ms: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """CONTRACT shape of a search result."""
        return {
            "query": self.query,
            "hits": [h.to_dict() for h in self.hits],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


@dataclass(frozen=True, slots=True)
class RetrievalConfig:
    """Fusion knobs, tuned on the eval set's dev split (see evals/tune_fusion.py)."""

    # Dev split, 433 chunks (evals/tune_fusion.py): zh r@5 0.976 for any k in 5..60 with
    # BM25 weighted 1.5-2x; en with lexicon expansion r@5 0.667 at k 10-20, BM25 2x (the
    # expanded Chinese terms are what matches); without expansion en r@5 0.667, MRR 0.43.
    candidates: int = 30
    rrf_k: int = 20
    zh_weights: tuple[float, float] = (1.0, 2.0)  # (dense, bm25) for Chinese questions
    en_weights: tuple[float, float] = (1.0, 2.0)  # for English questions
    expand_english: bool = True
    # CC-CEDICT fallback for English words the lexicon lacks (index/dictionary.py), used
    # when the retriever is given a dictionary: candidates kept per word, and the BM25
    # weight one word's candidates share (the asker's own words and lexicon terms weigh 1).
    # Dev split (evals/tune_dictionary.py), en r@5 0.667 without: 0.833 for weight 1.0 at
    # 1-3 candidates; 0.72-0.81 at 0.25-0.5. Adding the terms to the Chinese dense query
    # lifts en r@1 0.53 → 0.69 and MRR 0.65 → 0.75 (2 candidates); zh is untouched.
    dictionary_candidates: int = 2
    dictionary_weight: float = 1.0
    dictionary_dense: bool = True  # also add them to the Chinese dense query


def passage_text(chunk: Chunk) -> str:
    """What the retrievers index: the section path gives a passage its context."""
    if chunk.section and not chunk.text.startswith(chunk.section.split(" > ")[-1]):
        return f"{chunk.section}\n{chunk.text}"
    return chunk.text


class HybridRetriever:
    """Searches one index version with a dense store, a keyword index and a lexicon."""

    def __init__(
        self,
        chunks: Sequence[Chunk],
        embedder: Embedder,
        vectors: VectorStore,
        keyword: KeywordIndex,
        lexicon: Lexicon,
        config: RetrievalConfig | None = None,
        dictionary: ReverseDictionary | None = None,
    ) -> None:
        # Kept as given, not copied: a caller may pass a lazy sequence (the scale bench).
        self.chunks: Sequence[Chunk] = chunks
        self.embedder = embedder
        self.vectors = vectors
        self.keyword = keyword
        self.lexicon = lexicon
        self.config = config or RetrievalConfig()
        self.dictionary = dictionary

    def with_dictionary(self, dictionary: ReverseDictionary | None) -> HybridRetriever:
        """This retriever over the same index with another dictionary (or none); nothing is
        loaded or copied."""
        return HybridRetriever(
            self.chunks,
            self.embedder,
            self.vectors,
            self.keyword,
            self.lexicon,
            self.config,
            dictionary,
        )

    def rankings(
        self, query: str, depth: int, *, dense: bool = True, bm25: bool = True, expand: bool = True
    ) -> Rankings:
        """The dense and BM25 candidate lists `search` fuses (the fusion tuner reuses them).

        An English query is expanded with the lexicon's Chinese terms (when `expand`): they
        join the BM25 query and make a second dense query whose scores merge by maximum.
        """
        timings: dict[str, float] = {}
        english = expand and is_english(query)
        terms = expand_query(query, self.lexicon) if english else []
        t = time.perf_counter()
        translated = self.dictionary_terms(query) if english else []
        if english and self.dictionary is not None:
            timings["dictionary"] = (time.perf_counter() - t) * 1000
        searched = " ".join([query, *terms, *(w.term for w in translated)])
        dense_terms = terms + ([w.term for w in translated] if self.config.dictionary_dense else [])
        dense_hits: list[tuple[int, float]] = []
        bm25_hits: list[tuple[int, float]] = []
        if dense:
            t = time.perf_counter()
            dense_hits = self.vectors.search(self.embedder.embed_query(query), depth)
            if dense_terms:  # the Chinese terms as a second dense query
                zh = self.vectors.search(self.embedder.embed_query(" ".join(dense_terms)), depth)
                dense_hits = _merge_max(dense_hits, zh)
            timings["dense"] = (time.perf_counter() - t) * 1000
        if bm25:
            t = time.perf_counter()
            bm25_hits = self._bm25(" ".join([query, *terms]), translated, depth)
            timings["bm25"] = (time.perf_counter() - t) * 1000
        return Rankings(searched, dense_hits, bm25_hits, timings)

    def dictionary_terms(self, query: str) -> list[WeightedTerm]:
        """Weighted CC-CEDICT terms for the words of `query` the lexicon does not cover;
        none without a dictionary or a keyword index that knows document frequencies."""
        df = getattr(self.keyword, "document_frequency", None)
        if self.dictionary is None or df is None:
            return []
        return translate(
            uncovered_runs(query, self.lexicon),
            self.dictionary,
            df,
            max_candidates=self.config.dictionary_candidates,
            word_weight=self.config.dictionary_weight,
        )

    def absent_terms(self, query: str) -> list[str]:
        """English words or phrases of `query` that the dictionary knows but none of whose
        translations the index holds: concepts the documents never name."""
        df = getattr(self.keyword, "document_frequency", None)
        if self.dictionary is None or df is None:
            return []
        return absent_keys(uncovered_runs(query, self.lexicon), self.dictionary, df)

    def _bm25(
        self, text: str, translated: list[WeightedTerm], depth: int
    ) -> list[tuple[int, float]]:
        search_tokens = getattr(self.keyword, "search_tokens", None)
        if not translated or search_tokens is None:
            return self.keyword.search(text, depth)
        # Dictionary terms are index tokens already (`translate` kept only those), so they
        # join the tokenized query as they are, each with its share of the word's weight.
        tokens = tokenize(text)
        weights = [1.0] * len(tokens)
        tokens += [w.term for w in translated]
        weights += [w.weight for w in translated]
        hits: list[tuple[int, float]] = search_tokens(tokens, depth, weights)
        return hits

    def search(self, query: str, k: int = 5, mode: Mode = "hybrid") -> SearchResult:
        """Top-k chunks for `query`; `mode` picks dense-only, BM25-only or both."""
        query = query.strip()
        if not query:
            raise BadInput("the query is empty")
        if k < 1:
            raise BadInput("k must be at least 1")
        if mode not in MODES:
            raise BadInput(f"unknown search mode {mode!r}; use one of {', '.join(MODES)}")
        cfg = self.config
        started = time.perf_counter()
        dense_w, bm25_w = cfg.en_weights if is_english(query) else cfg.zh_weights
        if mode == "dense":
            bm25_w = 0.0
        elif mode == "bm25":
            dense_w = 0.0
        ranked = self.rankings(
            query, cfg.candidates, dense=dense_w > 0, bm25=bm25_w > 0, expand=cfg.expand_english
        )
        timings = dict(ranked.timings_ms)
        searched = ranked.searched
        rankings: dict[str, list[int]] = {}
        dense_rank: dict[int, RetrieverRank] = {}
        bm25_rank: dict[int, RetrieverRank] = {}
        if dense_w > 0:
            rankings["dense"] = [i for i, _ in ranked.dense]
            dense_rank = {i: RetrieverRank(r, s) for r, (i, s) in enumerate(ranked.dense, 1)}
        if bm25_w > 0:
            rankings["bm25"] = [i for i, _ in ranked.bm25]
            bm25_rank = {i: RetrieverRank(r, s) for r, (i, s) in enumerate(ranked.bm25, 1)}

        weights = {"dense": dense_w, "bm25": bm25_w}
        fused = reciprocal_rank_fusion(rankings, weights, k=cfg.rrf_k)[:k]
        hits = tuple(
            Hit(
                rank=rank,
                score=score,
                chunk=self.chunks[row],
                why=Why(dense_rank.get(row), bm25_rank.get(row), searched),
            )
            for rank, (row, score) in enumerate(fused, 1)
            if 0 <= row < len(self.chunks)
        )
        timings["total"] = (time.perf_counter() - started) * 1000
        return SearchResult(query=query, hits=hits, timings_ms=timings)


@dataclass(frozen=True)
class Rankings:
    """Each retriever's `(row, score)` list for one query, best first, before fusion."""

    searched: str  # the text BM25 searched (an English query plus its lexicon terms)
    dense: list[tuple[int, float]]
    bm25: list[tuple[int, float]]
    timings_ms: dict[str, float]


def _merge_max(a: list[tuple[int, float]], b: list[tuple[int, float]]) -> list[tuple[int, float]]:
    best: dict[int, float] = {}
    for i, s in (*a, *b):
        best[i] = max(best.get(i, -1.0), s)
    return sorted(best.items(), key=lambda kv: -kv[1])
