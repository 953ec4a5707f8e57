"""Mining zh↔en term pairs from the documents, and expanding English questions with them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from index.keyword import configure_jieba
from index.lexicon import (
    Lexicon,
    domain_terms,
    expand_query,
    is_english,
    mine_lexicon,
    seed_lexicon,
)
from ingest.errors import IndexMismatch, NotFound
from ingest.pipeline import chunk_file, collect_files


@pytest.fixture(scope="module", autouse=True)
def jieba_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    configure_jieba(tmp_path_factory.mktemp("jieba"))
    yield


def mined(text: str) -> dict[str, tuple[str, ...]]:
    return dict(mine_lexicon([text], seed=False).pairs)


# --- mining patterns -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "english", "chinese"),
    [
        ("长电科技采用倒装芯片（Flip Chip）技术。", "flip chip", "倒装芯片"),  # 中文（English）
        ("并进行重布线层(RDL)工艺。", "rdl", "重布线层"),  # half-width brackets
        ("主要包括RDL（再布线层）和TSV（硅通孔）。", "rdl", "再布线层"),  # ABBR（中文）
        ("主要包括RDL（再布线层）和TSV（硅通孔）。", "tsv", "硅通孔"),
        (
            "支持 Mach-Zehnder Interferometer（马赫-曾德尔干涉仪）阵列",
            "mach-zehnder interferometer",
            "马赫-曾德尔干涉仪",
        ),  # fmt: skip
        ("- ◆ **BGA (Ball Grid Array):** 球栅阵列封装，是一种封装技术。", "bga", "球栅阵列封装"),
        (
            "- ◆ **BGA (Ball Grid Array):** 球栅阵列封装，是一种封装技术。",
            "ball grid array",
            "球栅阵列封装",
        ),  # fmt: skip
        ("国内最大的晶圆代工企业中芯国际（SMIC）宣布", "smic", "中芯国际"),  # appositive cut
        ("荷兰阿斯麦公司（ASML）的光刻机", "asml", "阿斯麦"),  # place and 公司 stripped
        ("载带自动焊（TAB, Tape Automated Bonding）", "tab", "载带自动焊"),
        ("载带自动焊（TAB, Tape Automated Bonding）", "tape automated bonding", "载带自动焊"),
        ("桥联芯粒系统BiCS（Bridge interconnection Chiplet System）", "bics", "桥联芯粒系统"),
        ("布局2.5D封装（2.5D Packaging）产线", "2.5d packaging", "2.5D封装"),
        (
            "2021年欧盟研发投入排行榜（EU R&D Scoreboard）",
            "eu r&d scoreboard",
            "欧盟研发投入排行榜",
        ),  # fmt: skip
    ],
)
def test_pattern(text: str, english: str, chinese: str) -> None:
    pairs = mined(text)
    assert chinese in pairs.get(english, ()), pairs


@pytest.mark.parametrize(
    "text",
    [
        "截至2021年（2021）",
        "参见文献（[1]）",
        "封装尺寸（mm）",
        "如上所述（the of）",
        "这是一段话（this is a very long english sentence that keeps going）",
        "精准适配Fan-out（FO）",  # the bracket abbreviates the English, not the Chinese
        "公司（Inc）",  # a generic Chinese word is no term
        "",
    ],
)
def test_junk_is_not_mined(text: str) -> None:
    assert mined(text) == {}


def test_most_frequent_translation_first_and_superstrings_dropped() -> None:
    text = "硅通孔（TSV）。硅通孔（TSV）。硅穿孔（TSV）。美国的堆叠集成电路（IC）、集成电路（IC）"
    pairs = mined(text)
    assert pairs["tsv"] == ("硅通孔", "硅穿孔")
    assert pairs["ic"] == ("集成电路",)


# --- the real corpus -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_lexicon(corpus_dir: Path) -> Lexicon:
    return mine_lexicon(p.read_text(encoding="utf-8") for p in sorted(corpus_dir.glob("*.txt")))


@pytest.mark.slow
def test_corpus_pairs(corpus_dir: Path) -> None:
    texts = [p.read_text(encoding="utf-8") for p in sorted(corpus_dir.glob("*.txt"))]
    pairs = mine_lexicon(texts, seed=False).pairs
    assert len(pairs) >= 150
    assert "倒装芯片" in pairs["flip chip"]
    assert "倒装" in pairs["fc"]
    assert "重布线层" in pairs["rdl"]
    assert pairs["smic"][0] == "中芯国际"
    assert pairs["tsv"][0] == "硅通孔"
    assert pairs["inp"][0] == "磷化铟"
    assert pairs["eda"][0] == "电子设计自动化"


@pytest.mark.slow
def test_chunk_texts_mine_as_well(corpus_dir: Path, count_tokens: Callable[[str], int]) -> None:
    # The index builder mines chunk texts, where a pair may straddle a chunk boundary.
    chunks = [c for f in collect_files([corpus_dir]) for c in chunk_file(f, count_tokens).chunks]
    assert len(mine_lexicon((c.text for c in chunks), seed=False).pairs) >= 150


@pytest.mark.slow
def test_expand_english_question(corpus_lexicon: Lexicon) -> None:
    terms = expand_query("What is the market size of advanced packaging in China?", corpus_lexicon)
    assert {"先进封装", "市场规模", "中国"} <= set(terms)
    assert "封装" not in terms  # `advanced packaging` matched whole, not `packaging` again
    assert terms.index("市场规模") < terms.index("先进封装")  # query order


@pytest.mark.slow
def test_corpus_domain_terms(corpus_lexicon: Lexicon) -> None:
    terms = domain_terms(corpus_lexicon)
    assert {"倒装芯片", "先进封装", "中芯国际", "硅通孔"} <= set(terms)
    assert all(2 <= len(t) <= 8 and not t.isascii() for t in terms)
    assert terms == sorted(set(terms))


# --- expand_query and is_english -----------------------------------------------------------

SMALL = Lexicon(
    {
        "packaging": ("封装",),
        "advanced packaging": ("先进封装",),
        "chip": ("芯片",),
        "fan-out": ("扇出", "扇外型"),
        "ai": ("人工智能",),
        "it": ("信息技术",),
        "tsmc": ("台积电",),
        "technology": ("技术",),
    }
)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("advanced packaging", ["先进封装"]),  # longest match first
        ("packaging and advanced packaging", ["封装", "先进封装"]),
        ("How many chips?", ["芯片"]),  # plural
        ("Which technologies?", ["技术"]),  # -ies plural
        ("Fan out or FAN-OUT", ["扇出", "扇外型"]),  # hyphen = space, deduplicated
        ("TSMC's chip", ["台积电", "芯片"]),  # possessive, query order
        ("maintain the domain", []),  # word boundaries: no `ai` inside words
        ("Is it AI?", ["人工智能"]),  # a key that is an English stopword never matches
        ("CoWoS的chip市场", ["芯片"]),  # mixed zh/en
        ("", []),
        ("先进封装的市场规模", []),
    ],
)
def test_expand_query(query: str, expected: list[str]) -> None:
    assert expand_query(query, SMALL) == expected


@pytest.mark.parametrize(
    ("query", "english"),
    [
        ("What is CoWoS?", True),
        ("TSMC 台积电 revenue growth in 2024", True),
        ("先进封装的市场规模", False),
        ("CoWoS的市场规模是多少", False),
        ("2024", False),
        ("", False),
        ("？！", False),
    ],
)
def test_is_english(query: str, english: bool) -> None:
    assert is_english(query) is english


# --- the Lexicon value ---------------------------------------------------------------------


def test_json_round_trip(tmp_path: Path) -> None:
    lexicon = mine_lexicon(["倒装芯片（Flip Chip）、硅通孔（TSV）"])
    assert Lexicon.from_json(lexicon.to_json()) == lexicon
    lexicon.save(tmp_path / "lexicon.json")
    assert Lexicon.load(tmp_path / "lexicon.json") == lexicon
    assert expand_query("flip chips", Lexicon.load(tmp_path / "lexicon.json"))[0] == "倒装芯片"


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        Lexicon.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(IndexMismatch):
        Lexicon.load(tmp_path / "bad.json")
    (tmp_path / "old.json").write_text('{"format": "xinda-lexicon", "version": 0}', "utf-8")
    with pytest.raises(IndexMismatch):
        Lexicon.load(tmp_path / "old.json")


def test_lexicon_is_read_only() -> None:
    lexicon = Lexicon({"chip": ("芯片",)})
    with pytest.raises(TypeError):
        lexicon.pairs["wafer"] = ("晶圆",)  # type: ignore[index]


def test_seed_glossary_is_well_formed() -> None:
    pairs = seed_lexicon().pairs
    assert len(pairs) >= 80
    for english, chinese in pairs.items():
        assert english == " ".join(english.lower().split())
        assert chinese and all(any("\u4e00" <= c <= "\u9fff" for c in t) for t in chinese)
    assert pairs["market size"] == ("市场规模",)
    assert pairs["jcet"] == ("长电科技",)
