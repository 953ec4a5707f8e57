"""The jieba tokenizer and the BM25 keyword index: small cases, then the real corpus."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from index.keyword import (
    MANIFEST,
    BM25Index,
    KeywordIndex,
    add_domain_terms,
    configure_jieba,
    tokenize,
)
from ingest.errors import BadInput, IndexMismatch, NotFound
from ingest.pipeline import chunk_file, collect_files

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", autouse=True)
def jieba_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # Keep jieba's cache out of the shared temp dir (first configuration in a process wins).
    configure_jieba(tmp_path_factory.mktemp("jieba"))
    yield


# --- tokenize ------------------------------------------------------------------------------


def test_domain_terms_stay_whole() -> None:
    add_domain_terms(["倒装芯片", "硅中介层", "晶圆级封装", "CoWoS"])
    tokens = tokenize("长电科技的倒装芯片、晶圆级封装和硅中介层")
    assert {"倒装芯片", "晶圆级封装", "硅中介层"} <= set(tokens)
    assert "倒装" in tokens  # search mode still emits the parts, so 倒装 alone matches too


def test_ascii_terms_do_not_split_longer_words() -> None:
    # A dictionary entry `ai` would make jieba cut `aiot` into `ai` + `ot`.
    add_domain_terms(["AI", "die"])
    assert tokenize("AIoT diesel") == ["aiot", "diesel"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("营收14.6亿元", ["14.6", "14.6亿元", "亿元"]),
        ("同比增长14.6%", ["14.6", "14.6%"]),
        ("28nm工艺", ["28", "28nm", "nm"]),
        ("5μm线宽", ["5", "5μm", "μm"]),
        ("5µm线宽", ["5", "5μm", "μm"]),  # micro sign, not Greek mu
        ("2024年", ["2024", "2024年"]),
        ("１４．６％", ["14.6", "14.6%"]),  # full-width digits and percent
        ("1,200亿美元", ["1200", "1200亿美元", "亿美元"]),
    ],
)
def test_numbers_keep_unit_and_bare_value(text: str, expected: list[str]) -> None:
    tokens = tokenize(text)
    for token in expected:
        assert token in tokens, (text, tokens)


def test_alphanumeric_names_stay_whole() -> None:
    tokens = tokenize("DDR5和H100支持5G与2.5D封装")
    assert {"ddr5", "h100", "5g", "2.5d", "封装"} <= set(tokens)
    assert "5" not in tokens and "100" not in tokens


def test_english_is_lower_cased_and_stopwords_dropped() -> None:
    assert tokenize("What is the Market Size of CoWoS?") == ["market", "size", "cowos"]


def test_chinese_stopwords_dropped() -> None:
    tokens = tokenize("先进封装的市场规模是多少？")
    assert "的" not in tokens and "是" not in tokens and "多少" not in tokens
    assert {"先进", "封装", "市场", "规模"} <= set(tokens)


def test_full_width_ascii_is_half_width() -> None:
    assert tokenize("ＴＳＭＣ　ＣｏＷｏＳ") == ["tsmc", "cowos"]


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "，。！？", "...---", "的 了 是", "the of"])
def test_nothing_to_match(text: str) -> None:
    assert tokenize(text) == []


def test_tokenize_is_fast() -> None:
    query = "2024年中国先进封装的市场规模是多少？"
    tokenize(query)
    started = time.perf_counter()
    for _ in range(200):
        tokenize(query)
    per_query_ms = (time.perf_counter() - started) / 200 * 1000
    assert per_query_ms < 5  # ≈ 0.1 ms here; loose so a busy CI box does not fail


def test_configure_jieba_keeps_cache_out_of_system_tempdir(tmp_path: Path) -> None:
    # A fresh interpreter, because this one may have loaded jieba's dictionary already.
    cache, system_tmp = tmp_path / "cache", tmp_path / "systmp"
    system_tmp.mkdir()
    code = (
        "import sys; from pathlib import Path; import jieba\n"
        "from index.keyword import configure_jieba\n"
        "configure_jieba(Path(sys.argv[1])); configure_jieba(Path(sys.argv[1]))\n"
        "print(jieba.lcut('先进封装'))\n"
    )
    env = {**os.environ, "TMPDIR": str(system_tmp)}
    done = subprocess.run(
        [sys.executable, "-c", code, str(cache)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (cache / "jieba.cache").is_file()
    assert list(system_tmp.iterdir()) == []
    assert "Building prefix dict" not in done.stderr  # logger quieted


# --- BM25Index on small data ---------------------------------------------------------------

TEXTS = [
    "长电科技是中国最大的封测企业，先进封装营收增长。",
    "中芯国际是晶圆代工企业，28nm产能扩张。",
    "倒装芯片和晶圆级封装是先进封装的主要形式。",
    "Hangzhou supports EDA companies with subsidies.",
]


def test_protocol_and_basic_search() -> None:
    index: KeywordIndex = BM25Index.build(TEXTS)
    assert index.name == "bm25" and len(index) == 4
    hits = index.search("晶圆代工", 10)
    assert hits[0][0] == 1
    assert all(score > 0 for _, score in hits)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_k_limits_and_validation() -> None:
    index = BM25Index.build(TEXTS)
    assert len(index.search("先进封装", 1)) == 1
    with pytest.raises(BadInput):
        index.search("先进封装", 0)


@pytest.mark.parametrize("query", ["", "   ", "？！", "的", "量子引力弦论", "zzzqqq"])
def test_no_known_tokens_gives_nothing(query: str) -> None:
    assert BM25Index.build(TEXTS).search(query, 5) == []


def test_search_tokens_weights() -> None:
    index = BM25Index.build(TEXTS)
    # Tokens as the index cut them: other tests may have taught jieba domain terms
    # (长电科技 whole), and jieba's dictionary is process-wide.
    a = next(t for t in tokenize(TEXTS[0]) if t.startswith("长电"))
    b = next(t for t in tokenize(TEXTS[1]) if "代工" in t)
    assert index.search_tokens([a, b], 5) == index.search_tokens([a, b], 5, weights=[1.0, 1.0])
    assert index.search_tokens([a, b], 5, weights=[5.0, 1.0])[0][0] == 0
    assert index.search_tokens([a, b], 5, weights=[1.0, 5.0])[0][0] == 1
    doubled = index.search_tokens(["代工", "代工"], 5)
    single = index.search_tokens(["代工"], 5)
    assert doubled[0][1] == pytest.approx(2 * single[0][1])
    with pytest.raises(BadInput):
        index.search_tokens(["长电"], 5, weights=[1.0, 2.0])


def test_english_text_is_searchable() -> None:
    assert BM25Index.build(TEXTS).search("EDA subsidies in Hangzhou", 3)[0][0] == 3


@pytest.mark.parametrize("texts", [[], ["", "，。", "   "]])
def test_corpus_without_tokens(texts: list[str], tmp_path: Path) -> None:
    index = BM25Index.build(texts)
    assert len(index) == len(texts)
    assert index.search("先进封装", 5) == []
    index.save(tmp_path)
    loaded = BM25Index.load(tmp_path)
    assert len(loaded) == len(texts) and loaded.search("先进封装", 5) == []


def test_manifest_records_domain_terms(tmp_path: Path) -> None:
    add_domain_terms(["混合键合"])
    BM25Index.build(TEXTS).save(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))
    assert "混合键合" in manifest["domain_terms"]
    assert manifest["num_docs"] == 4


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        BM25Index.load(tmp_path / "missing")
    BM25Index.build(TEXTS).save(tmp_path)
    manifest = json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))
    (tmp_path / MANIFEST).write_text(json.dumps({**manifest, "version": 99}), encoding="utf-8")
    with pytest.raises(IndexMismatch):
        BM25Index.load(tmp_path)
    (tmp_path / MANIFEST).write_text(json.dumps({**manifest, "num_docs": 5}), encoding="utf-8")
    with pytest.raises(IndexMismatch):
        BM25Index.load(tmp_path)
    (tmp_path / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    (tmp_path / "vocab.index.json").unlink()
    with pytest.raises(IndexMismatch):
        BM25Index.load(tmp_path)
    (tmp_path / MANIFEST).write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexMismatch):
        BM25Index.load(tmp_path)


# --- the real corpus -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_texts(corpus_dir: Path, count_tokens: Callable[[str], int]) -> list[str]:
    files = collect_files([corpus_dir])
    return [c.text for f in files for c in chunk_file(f, count_tokens).chunks]


@pytest.fixture(scope="module")
def corpus_index(corpus_texts: list[str]) -> BM25Index:
    return BM25Index.build(corpus_texts)


QUERIES = [
    "先进封装的市场规模",
    "中芯国际的产能",
    "浙江省集成电路产业政策",
    "磷化铟衬底",
    "智能眼镜的出货量",
    "电子制造装备关键零部件",
    "Chiplet 技术路线图",
    "2024年 14.6%",
]


@pytest.mark.slow
def test_market_size_query_finds_the_passage(
    corpus_index: BM25Index, corpus_texts: list[str]
) -> None:
    top = corpus_index.search("先进封装的市场规模", 3)
    assert any("市场规模" in corpus_texts[r] and "先进封装" in corpus_texts[r] for r, _ in top)


@pytest.mark.slow
def test_save_load_round_trip(corpus_index: BM25Index, tmp_path: Path) -> None:
    corpus_index.save(tmp_path)
    loaded = BM25Index.load(tmp_path)
    assert len(loaded) == len(corpus_index)
    for query in QUERIES:
        assert loaded.search(query, 10) == corpus_index.search(query, 10)


@pytest.mark.slow
def test_saved_folder_has_no_pickle(corpus_index: BM25Index, tmp_path: Path) -> None:
    corpus_index.save(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert MANIFEST in names
    assert not [n for n in names if n.endswith((".pkl", ".pickle", ".joblib"))]
    for path in tmp_path.iterdir():
        if path.suffix == ".npy":
            assert np.load(path, allow_pickle=False).dtype != object
        else:
            assert path.suffix == ".json", path.name
            json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.slow
def test_query_latency(corpus_index: BM25Index, capsys: pytest.CaptureFixture[str]) -> None:
    queries = (QUERIES * 13)[:100]
    started = time.perf_counter()
    for query in queries:
        corpus_index.search(query, 20)
    elapsed_ms = (time.perf_counter() - started) * 1000
    with capsys.disabled():
        print(
            f"\nBM25 over {len(corpus_index)} chunks: 100 queries in {elapsed_ms:.1f} ms "
            f"({elapsed_ms / 100:.2f} ms/query, tokenizing included)"
        )
