"""BM25 keyword search over jieba tokens: the tokenizer, the `KeywordIndex` Protocol and bm25s.

Chinese has no spaces, so the tokenizer is the whole game: jieba's search mode emits a long
word and its dictionary sub-words (先进封装 → 先进, 封装, 先进封装), so a query matches a
passage whether either side writes the compound or its parts. Numbers with units are kept
whole *and* bare (14.6亿元 → 14.6亿元, 14.6, 亿元) because analysts ask about figures.
jieba's state is process-global: `configure_jieba` and `add_domain_terms` change it for
every caller, and an index records the terms it was built with so `load` can restore them.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import bm25s
import jieba
import numpy as np
import numpy.typing as npt

from ingest.errors import BadInput, IndexMismatch, NotFound

MANIFEST = "keyword.json"
FORMAT = "xinda-bm25"
FORMAT_VERSION = 1
TOKENIZER = "jieba-search+units/1"  # bump when `tokenize` changes what it emits
DOMAIN_FREQ = 200_000  # about a common word's count: jieba then prefers the whole term

_added_terms: set[str] = set()  # every domain term added in this process, for the manifest

# Why a stoplist: search mode emits every function word, and BM25 would reward passages
# for sharing 的/是/what with the question.
_ZH_STOPWORDS = frozenset(
    """
    的 了 和 是 在 与 及 等 为 对 中 也 将 以 并 或 而 但 其 之 于 由 被 把 向 从 到 着 过
    又 还 就 都 所 该 此 这 那 这些 那些 这个 那个 这种 一种 一个 个 各 每 其中 以及 或者
    并且 而且 但是 因此 因为 所以 如果 虽然 通过 进行 已 已经 可 可以 能 能够 会 要 应
    应该 需要 得 地 么 吗 呢 吧 啊 呀 哪 哪个 哪些 什么 多少 如何 怎么 怎样 为什么 是否 有
    没有 不 我 我们 你 你们 他 他们 她 它 它们 自己 即 如 则 等等 之一 请问 请 约 来 去 上
    下 里 后 前 时 给 让 使 用 跟 同 比 较 很 更 最 再 只 仅 乃 之间 以来 有关 关于
    对于 作为 根据 按照 以上 以下 方面 其他 其它 主要 分别 均 即可 具有 相关
    """.split()
)
_EN_STOPWORDS = frozenset(
    """
    a an the of in on at to for from by with and or not no nor is are was were be been
    being am this that these those it its as into than then there their theirs they them
    he she his her we our ours you your yours i me my what which who whom whose when where
    why how does do did done doing can could will would should shall may might must has
    have had having about above after again against all any both each few more most other
    some such only own same so too very just also per via vs if but because while during
    before between through over under up down out off until etc s t d ll m re ve
    """.split()
)

# Full-width ASCII (！ to ～) and the ideographic space map to their half-width forms;
# µ (micro sign) and μ (Greek mu) are the same unit in the documents.
_HALF_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20, 0xB5: 0x3BC}

_CJK_UNITS = (
    "万亿元 亿美元 万美元 亿元 万元 美元 元 万亿 亿片 万片 亿颗 亿 万 千 百万 片 台 套 家 倍 "
    "层 颗 年 月 日 季度 英寸 寸 纳米 微米 毫米 人 % ‰ ℃"
).split()
_ASCII_UNITS = "nm μm um mm cm ghz mhz khz hz gbps tbps gb tb mb kw mw w v wph x".split()
_CJK_UNIT = "|".join(map(re.escape, _CJK_UNITS))
_ASCII_UNIT = "|".join(map(re.escape, _ASCII_UNITS))
# A number not glued to a preceding name (h100, ddr5), then a unit, or letters that make
# it a name itself (5g, 2.5d). ASCII units must end at a word edge: 5nm, not 5nmos.
_NUMBER = re.compile(
    r"(?<![a-z0-9_.])(?P<num>\d+(?:,\d{3}(?!\d))*(?:\.\d+)?)"
    rf"(?:(?P<unit>{_CJK_UNIT}|(?:{_ASCII_UNIT})(?![a-z0-9]))|(?P<tail>[a-z][a-z0-9]*))?"
)


class KeywordIndex(Protocol):
    """A lexical index over the chunk texts, searched by row number."""

    name: str

    def search(self, query: str, k: int) -> list[tuple[int, float]]: ...

    def save(self, folder: Path) -> None: ...

    def memory_bytes(self) -> int:
        """In-memory size of the index arrays (for `xinda stats`)."""
        ...

    def __len__(self) -> int: ...


def configure_jieba(cache_dir: Path) -> None:
    """Keep jieba's dictionary cache under `cache_dir` and quiet its logger; call before use.

    jieba otherwise writes and later trusts (unmarshals) `jieba.cache` in the shared system
    temp dir, where another user could plant it. Idempotent; once jieba has loaded its
    dictionary the setting no longer matters for this process.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    jieba.setLogLevel(logging.WARNING)
    jieba.dt.tmp_dir = str(cache_dir)
    jieba.dt.cache_file = "jieba.cache"


def add_domain_terms(terms: Iterable[str]) -> None:
    """Teach jieba terms it must keep whole (倒装芯片, 硅中介层, 中芯国际); idempotent.

    Terms without a Chinese character are skipped: jieba already keeps an ASCII run whole
    (CoWoS, TSV), and a dictionary entry for `ai` would cut `aiot` into `ai` + `ot`. Terms
    with whitespace are skipped too: jieba splits on it before looking words up.
    """
    for raw in terms:
        term = raw.translate(_HALF_WIDTH).strip().lower()
        if len(term) < 2 or term in _added_terms or any(ch.isspace() for ch in term):
            continue
        if not any("\u3400" <= ch <= "\u9fff" for ch in term):
            continue
        jieba.add_word(term, freq=DOMAIN_FREQ)
        _added_terms.add(term)


def added_terms() -> list[str]:
    """The domain terms added to jieba in this process, sorted (what an index records)."""
    return sorted(_added_terms)


def tokenize(text: str) -> list[str]:
    """Search-mode jieba tokens, lower-cased, stopwords and punctuation dropped, units kept."""
    text = text.translate(_HALF_WIDTH).lower()
    tokens: list[str] = []
    start = 0
    for m in _NUMBER.finditer(text):
        if m.start() > start:
            _cut_into(text[start : m.start()], tokens)
        start = m.end()
        number = m.group("num").replace(",", "")
        unit, tail = m.group("unit"), m.group("tail")
        if tail:  # 5g, 2.5d, 3d: an alphanumeric name, not a quantity
            tokens.append(number + tail)
            continue
        tokens.append(number)
        if unit:
            tokens.append(number + unit)
            if len(unit) > 1 and unit not in _ZH_STOPWORDS:  # 亿元, nm: a word on its own
                tokens.append(unit)
    if start < len(text):
        _cut_into(text[start:], tokens)
    return tokens


@functools.cache
def _general_dictionary() -> dict[str, int]:
    # jieba's own dictionary, read apart from the live tokenizer: `add_domain_terms` lifts
    # domain terms to a common word's count there, which would hide that they are names.
    words: dict[str, int] = {}
    with jieba.get_dict_file() as f:
        for raw in f:
            parts = raw.decode("utf-8").split(" ")
            if len(parts) >= 2 and parts[1].isdigit():
                words[parts[0]] = int(parts[1])
    return words


def general_frequency(word: str) -> int:
    """The count of `word` in jieba's general Chinese dictionary (0 when absent): how
    common a word is in Chinese at large, as opposed to in the indexed documents."""
    return _general_dictionary().get(word, 0)


def _cut_into(segment: str, tokens: list[str]) -> None:
    for tok in jieba.cut_for_search(segment):
        tok = tok.strip()
        if not tok or tok in _ZH_STOPWORDS or tok in _EN_STOPWORDS:
            continue
        if not any(ch.isalnum() for ch in tok):
            continue
        if len(tok) == 1 and tok.isascii() and tok.isalpha():  # a stray letter says nothing
            continue
        tokens.append(tok)


class BM25Index:
    """bm25s (Lucene BM25, k1 1.5, b 0.75) over `tokenize`d texts; rows are text positions."""

    name = "bm25"

    def __init__(
        self,
        model: Any | None,
        num_docs: int,
        terms: Sequence[str] = (),
        tokenizer: str = TOKENIZER,
    ) -> None:
        self._model = model  # None when no text had a single token (or there were no texts)
        self._num_docs = num_docs
        self._terms = tuple(sorted(terms))
        self._tokenizer = tokenizer
        self._vocab: dict[str, int] = {} if model is None else dict(model.vocab_dict)
        # bm25s's eager index is a CSC matrix (rows = documents, columns = vocabulary) of
        # precomputed per-term BM25 contributions; a query's score sums its columns.
        empty = np.zeros(0)
        csc = {} if model is None else model.scores
        self._data: npt.NDArray[Any] = csc.get("data", empty)
        self._indices: npt.NDArray[Any] = csc.get("indices", empty)
        self._indptr: npt.NDArray[Any] = csc.get("indptr", empty)

    @classmethod
    def build(cls, texts: Sequence[str]) -> BM25Index:
        """Index `texts` (row i = texts[i]) with the domain terms added so far."""
        return cls.from_tokens([tokenize(t) for t in texts])

    @classmethod
    def from_tokens(cls, corpus: Sequence[Sequence[str]]) -> BM25Index:
        """Index already-`tokenize`d texts (the scale bench's synthetic corpus comes so)."""
        model: Any | None = None
        if any(corpus):
            model = bm25s.BM25()
            model.index([list(tokens) for tokens in corpus], show_progress=False)
        return cls(model, len(corpus), sorted(_added_terms))

    @classmethod
    def load(cls, folder: Path) -> BM25Index:
        """Open a saved index, re-adding the domain terms it was built with."""
        path = folder / MANIFEST
        if not path.is_file():
            raise NotFound(f"no keyword index in {folder}: run `xinda ingest --rebuild`")
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            manifest = {}
        if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
            raise IndexMismatch(
                f"keyword index in {folder} has format {manifest.get('format')} "
                f"v{manifest.get('version')}; expected {FORMAT} v{FORMAT_VERSION}: "
                "run `xinda ingest --rebuild`"
            )
        if manifest.get("tokenizer") != TOKENIZER:
            raise IndexMismatch(
                f"keyword index in {folder} was tokenized with {manifest.get('tokenizer')}, "
                f"this XinDa tokenizes with {TOKENIZER}: run `xinda ingest --rebuild`"
            )
        num_docs = int(manifest["num_docs"])
        terms = [str(t) for t in manifest.get("domain_terms", [])]
        add_domain_terms(terms)
        model: Any | None = None
        if manifest.get("has_model"):
            # bm25s keeps its arrays in .npy and its vocabulary in JSON; no pickle either way.
            try:
                model = bm25s.BM25.load(str(folder), allow_pickle=False, show_progress=False)
            except (OSError, ValueError, KeyError) as exc:
                raise IndexMismatch(
                    f"keyword index in {folder} is incomplete ({type(exc).__name__}): "
                    "run `xinda ingest --rebuild`"
                ) from None
            if int(model.scores["num_docs"]) != num_docs:
                raise IndexMismatch(
                    f"keyword index in {folder} holds {model.scores['num_docs']} rows, its "
                    f"manifest says {num_docs}: run `xinda ingest --rebuild`"
                )
        return cls(model, num_docs, terms)

    def save(self, folder: Path) -> None:
        """Write bm25s's JSON + .npy files and a manifest into `folder` (created if needed)."""
        folder.mkdir(parents=True, exist_ok=True)
        if self._model is not None:
            self._model.save(str(folder), allow_pickle=False, show_progress=False)
        manifest = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "name": self.name,
            "tokenizer": self._tokenizer,
            "bm25s": bm25s.__version__,
            "num_docs": self._num_docs,
            "has_model": self._model is not None,
            "domain_terms": list(self._terms),
        }
        text = json.dumps(manifest, ensure_ascii=False, indent=1)
        (folder / MANIFEST).write_text(text, encoding="utf-8")

    def document_frequency(self, token: str) -> int:
        """How many indexed texts contain `token` (0 when unknown)."""
        tid = self._vocab.get(token)
        if tid is None or tid + 1 >= len(self._indptr):
            return 0
        return int(self._indptr[tid + 1] - self._indptr[tid])

    def memory_bytes(self) -> int:
        """Bytes of the score matrix (data, indices, indptr); the vocabulary dict aside."""
        return int(self._data.nbytes + self._indices.nbytes + self._indptr.nbytes)

    def __len__(self) -> int:
        return self._num_docs

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Rows whose score is above zero, best first (ties by row), at most `k`."""
        return self.search_tokens(tokenize(query), k)

    def search_tokens(
        self, tokens: Sequence[str], k: int, weights: Sequence[float] | None = None
    ) -> list[tuple[int, float]]:
        """Search already-tokenized terms; a token listed twice (or weighted 2.0) counts twice.

        Tokens must come from `tokenize` (lower-cased, search-mode cut); unknown ones are
        ignored. `weights`, when given, pairs one weight with each token, so an expanded
        query can count translated terms less than the asker's own words.
        """
        if k < 1:
            raise BadInput("k must be at least 1")
        if weights is not None and len(weights) != len(tokens):
            raise BadInput(f"{len(tokens)} tokens but {len(weights)} weights")
        if self._model is None:
            return []
        per_id: dict[int, float] = {}
        for i, tok in enumerate(tokens):
            tid = self._vocab.get(tok)
            if tid is not None and tok:
                per_id[tid] = per_id.get(tid, 0.0) + (1.0 if weights is None else weights[i])
        if not per_id:
            return []
        scores = self._scores(per_id)
        rows = np.flatnonzero(scores > 0)
        if rows.size == 0:
            return []
        if rows.size > k:
            # Sorting every matching row costs ~100 ms at 1M chunks; keep the rows scoring
            # at least the k-th best (ties included, so "ties by row" still holds) first.
            values = scores[rows]
            kth = np.partition(values, rows.size - k)[rows.size - k]
            rows = rows[values >= kth]
        order = rows[np.argsort(-scores[rows], kind="stable")][:k]
        return [(int(r), float(scores[r])) for r in order]

    def _scores(self, per_id: dict[int, float]) -> npt.NDArray[np.float32]:
        # One bincount over every query term's postings: np.add.at is ~10x slower, which
        # matters once a common term's posting list holds hundreds of thousands of rows.
        rows: list[npt.NDArray[Any]] = []
        contributions: list[npt.NDArray[Any]] = []
        for tid, weight in per_id.items():
            lo, hi = int(self._indptr[tid]), int(self._indptr[tid + 1])
            rows.append(self._indices[lo:hi])
            contributions.append(self._data[lo:hi] * np.float32(weight))
        summed = np.bincount(
            np.concatenate(rows), weights=np.concatenate(contributions), minlength=self._num_docs
        )
        return summed.astype(np.float32)
