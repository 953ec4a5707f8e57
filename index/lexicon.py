"""A zh↔en term lexicon mined from the documents, used to put English questions into Chinese.

The reports gloss their own terms — 倒装芯片（Flip Chip）, RDL（重布线层）,
`FC (Flip Chip): 倒装芯片` — so the corpus carries its own dictionary. Mining finds those
pairs; the hard part is the Chinese side's left edge, since a gloss follows running text
(大的晶圆代工企业中芯国际（SMIC）). jieba segments that text and the term starts after the last
function word, verb or appositive noun (企业, 公司), with place prefixes and 公司 stripped.
A small seed glossary of general industry words (market size → 市场规模) fills in what no
document glosses.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import MappingProxyType

import jieba

from ingest.errors import IndexMismatch, NotFound

FORMAT = "xinda-lexicon"
FORMAT_VERSION = 1
MAX_EN_WORDS = 6
MAX_ZH_CHARS = 12
MAX_DOMAIN_CHARS = 8

# General words an analyst's English question uses, in the Chinese the reports use.
# One topic a line; `english=中文/中文` pairs separated by `;`.
_SEED = """
wafer=晶圆; packaging=封装; package=封装; advanced packaging=先进封装; chip=芯片; die=裸片/芯片
semiconductor=半导体; integrated circuit=集成电路; market size=市场规模; market=市场
revenue=营业收入/营收/收入; net profit=净利润; profit=利润; sales=销售额; output value=产值
market share=市场份额/占比; share=份额/占比; proportion=占比; shipments=出货量; price=价格
growth=增长; growth rate=增长率/增速; compound annual growth rate=复合增长率; cagr=复合增长率
year on year=同比; forecast=预测; investment=投资; fund=基金; cost=成本; scale=规模
foundry=晶圆代工/代工; osat=封测; packaging and testing=封测; testing=测试; design=设计
manufacturing=制造; lithography=光刻; lithography machine=光刻机; etching=刻蚀; deposition=沉积
equipment=设备; materials=材料; components=零部件; yield=良率; capacity=产能; process=工艺/制程
advanced process=先进制程; memory=存储/存储器; memory chip=存储芯片; storage=存储; sensor=传感器
flip chip=倒装芯片/倒装; wire bonding=引线键合; hybrid bonding=混合键合; bonding=键合
wafer level packaging=晶圆级封装; system in package=系统级封装; fan out=扇出/扇外型
through silicon via=硅通孔; interposer=中介层; silicon interposer=硅中介层; substrate=基板
chiplet=芯粒; heterogeneous integration=异构集成; bump=凸块/凸点; redistribution layer=重布线层
electronic design automation=电子设计自动化; photonic chip=光子芯片; silicon photonics=硅光
optical module=光模块; indium phosphide=磷化铟; laser=激光器; optical communication=光通信
smart glasses=智能眼镜; ai glasses=AI眼镜; ar glasses=AR眼镜; waveguide=光波导; display=显示
artificial intelligence=人工智能; ai chip=AI芯片; computing power=算力; data center=数据中心
high bandwidth memory=高带宽存储器; large model=大模型; analog chip=模拟芯片; radio frequency=射频
silicon carbide=碳化硅; gallium nitride=氮化镓; power semiconductor=功率半导体
consumer electronics=消费电子; automotive electronics=汽车电子; electronics manufacturing=电子制造
surface mount=表面贴装; inspection=检测; dicing=划片; core components=核心零部件
policy=政策; government=政府; subsidy=补贴; talent=人才; research and development=研发
patent=专利; standard=标准; industry chain=产业链; supply chain=供应链; industrial park=产业园
localization=国产化; domestic substitution=国产替代; self sufficiency=自给率; import=进口
export=出口; enterprise=企业; company=公司; industry=产业/行业; ecosystem=生态; innovation=创新
china=中国; chinese=中国; united states=美国; america=美国; american=美国; japan=日本
korea=韩国; south korea=韩国; taiwan=台湾; europe=欧洲; global=全球; worldwide=全球
beijing=北京; shanghai=上海; jiangsu=江苏; zhejiang=浙江; tianjin=天津; sichuan=四川
guangdong=广东; guangzhou=广州; shenzhen=深圳; hangzhou=杭州; hefei=合肥; anhui=安徽
wuxi=无锡; suzhou=苏州; nanjing=南京; chengdu=成都; wuhan=武汉; hubei=湖北; fujian=福建
xiamen=厦门; chongqing=重庆; shenyang=沈阳; liaoning=辽宁; zhuhai=珠海; ningbo=宁波
yangtze river delta=长三角; beijing tianjin hebei=京津冀
jcet=长电科技; tongfu=通富微电; tongfu microelectronics=通富微电; huatian=华天科技
smic=中芯国际; tsmc=台积电; samsung=三星; intel=英特尔; ase=日月光; amkor=安靠
huawei=华为; sk hynix=海力士; hynix=海力士; micron=美光; nvidia=英伟达; apple=苹果
applied materials=应用材料; asml=阿斯麦; lam research=泛林; tokyo electron=东京电子
kla=科磊; ymtc=长江存储; naura=北方华创; amec=中微; powertech=力成科技; umc=联华电子
synopsys=新思; siemens=西门子; empyrean=华大九天; goertek=歌尔; xiaomi=小米
qualcomm=高通; texas instruments=德州仪器; sj semiconductor=盛合晶微; google=谷歌
"""

# Words after which a glossed term starts: function words, verbs that introduce a term,
# and appositive nouns (晶圆代工企业中芯国际 → 中芯国际).
_LEFT_STOPS = frozenset(
    """
    的 了 和 与 及 以及 或 或者 在 是 为 对 将 以 等 从 通过 进行 包括 包含 采用 即 如 其
    由 被 把 向 于 中 过 基于 面向 推出 搭载 实现 使用 利用 开发 提供 具有 拥有 具备
    成为 称为 所谓 这 该 此 一种 一个 种 个 类 也 都 还 又 并 而 但 则 就 要 能 可 可以 已
    已经 正在 首先 其中 特别 例如 比如 诸如 涵盖 覆盖 超越 排名 根据 据 来自 交付 完成 目前
    现有 当前 预计 显示 表示 认为 指出 发布 提出 形成 支持 推动 加快 打造 布局 引进 突破
    掌握 属于 涉及 推进 鉴于 强调 即从 像 叫 又称 简称 用 让 给 称 被称为 主要 主流 有 当
    当作 作为 执行 分为 可以分为 应用 应用于 合作 共同开发 两 两个 一 二 三 是指 指 称作
    企业 公司 厂商 龙头 巨头 机构 大厂
    """.split()
)
# Function characters that jieba's HMM glues onto an unknown name (据洛图, 如磁, 司等).
_STOP_CHARS = frozenset(
    "的了和与及或在是为对将以等从即如其由被把向于也都还又并而但则就要能可已据当有用让给称像叫这该此"
)
_PLACE_PREFIXES = ("美国", "荷兰", "日本", "韩国", "德国", "英国", "法国", "中国", "欧洲", "台湾")
_COMPANY_SUFFIXES = ("股份有限公司", "有限公司", "公司")
_GENERIC_ZH = frozenset("公司 技术 产品 企业 行业 市场 平台 方案 简称 英文 以下简称 全称".split())
_ZH_GLOSS_NOISE = ("适用", "用于", "简称", "是指", "例如", "包括")
_EN_STOPWORDS = frozenset(
    """
    a an the of in on at to for from by with and or not is are was were be this that it its
    as into than there their they what which who when where why how do does did can could
    will would should may has have had about all any some such only per via vs if but us
    et al fig figure table see note source mm nm um μm cm m km kg g s ms ns
    """.split()
)

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
_LEFT_PAREN, _RIGHT_PAREN = "[（(]", "[)）]"
# 中文（English）: a Chinese run (may carry ASCII like 2.5D封装 or a glued abbreviation)
# glossed by English in brackets.
_ZH_EN = re.compile(
    rf"(?P<zh>[{_CJK}A-Za-z0-9.\-]*[{_CJK}][A-Za-z0-9\-]*)[ \t]*{_LEFT_PAREN}[ \t]*"
    rf"(?P<en>[A-Za-z0-9][^（）()\n{_CJK}]{{0,80}}?)[ \t]*{_RIGHT_PAREN}"
)
# English（中文）: an English run (acronym or short name) glossed by Chinese in brackets.
_EN_ZH = re.compile(
    rf"(?<![A-Za-z0-9.\-])(?P<en>[A-Za-z0-9][A-Za-z0-9.\-/&+ ]{{0,60}}?)[ \t]*{_LEFT_PAREN}"
    rf"[ \t]*(?P<zh>[{_CJK}A-Za-z0-9.\-]{{2,{MAX_ZH_CHARS}}})[ \t]*{_RIGHT_PAREN}"
)
# ABBR (Long English): 中文，… as in glossary lists, bold markers allowed.
_GLOSSARY = re.compile(
    rf"(?<![A-Za-z0-9])(?P<abbr>[A-Za-z][A-Za-z0-9\-]*(?: [A-Za-z0-9\-]+){{0,3}})[ \t]*"
    rf"{_LEFT_PAREN}(?P<long>[A-Za-z][^（）()\n{_CJK}]{{0,80}}?){_RIGHT_PAREN}[*\s]*[:：][*\s]*"
    rf"(?P<zh>[{_CJK}A-Za-z0-9.\-]{{2,{MAX_ZH_CHARS}}})(?=[，,。；;：:\s（(]|$)"
)
_EN_WORD = re.compile(r"[a-z0-9][a-z0-9.+&']*")


@dataclass(frozen=True)
class Lexicon:
    """English term (lower-cased, single-spaced) → the Chinese terms the documents use for it."""

    pairs: Mapping[str, tuple[str, ...]]

    def __post_init__(self) -> None:
        object.__setattr__(self, "pairs", MappingProxyType(dict(self.pairs)))

    def to_json(self) -> str:
        """The lexicon as a JSON document (format and version first, keys sorted)."""
        data = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "pairs": dict(sorted(self.pairs.items())),
        }
        return json.dumps(data, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Lexicon:
        """Inverse of `to_json`; a wrong format or version is an IndexMismatch."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise IndexMismatch(
                f"lexicon is not valid JSON ({exc}): run `xinda ingest --rebuild`"
            ) from None
        fmt = (data.get("format"), data.get("version")) if isinstance(data, dict) else None
        pairs = data.get("pairs") if isinstance(data, dict) else None
        if fmt != (FORMAT, FORMAT_VERSION) or not isinstance(pairs, dict):
            raise IndexMismatch(
                f"lexicon is not {FORMAT} v{FORMAT_VERSION}: run `xinda ingest --rebuild`"
            )
        return cls({str(k): tuple(str(t) for t in v) for k, v in pairs.items()})

    def save(self, path: Path) -> None:
        """Write the lexicon as JSON to `path`."""
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        """Read a lexicon written by `save`."""
        if not path.is_file():
            raise NotFound(f"no lexicon at {path}: run `xinda ingest --rebuild`")
        return cls.from_json(path.read_text(encoding="utf-8"))

    @cached_property
    def _by_words(self) -> dict[tuple[str, ...], tuple[str, ...]]:
        # Keys as singular word tuples, so "chips" finds "chip" and "fan-out" finds "fan out".
        index: dict[tuple[str, ...], list[str]] = defaultdict(list)
        for key, terms in self.pairs.items():
            words = _match_words(key)
            if words and not (len(words) == 1 and words[0] in _EN_STOPWORDS):
                index[words].extend(t for t in terms if t not in index[words])
        return {k: tuple(v) for k, v in index.items()}


def seed_lexicon() -> Lexicon:
    """The built-in glossary of general industry terms, places and companies."""
    pairs: dict[str, list[str]] = defaultdict(list)
    for line in _SEED.strip().splitlines():
        for entry in filter(None, (e.strip() for e in line.split(";"))):
            english, chinese = entry.split("=")
            pairs[_norm_en(english)].extend(chinese.split("/"))
    return Lexicon({k: tuple(dict.fromkeys(v)) for k, v in pairs.items()})


def mine_lexicon(texts: Iterable[str], seed: bool = True) -> Lexicon:
    """Pairs glossed in `texts` (most frequent Chinese first), merged after the seed glossary."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for text in texts:
        for en, zh in _pairs_in(text):
            counts[en][zh] += 1
    pairs: dict[str, list[str]] = {}
    if seed:
        pairs = {k: list(v) for k, v in seed_lexicon().pairs.items()}
    for en, counter in counts.items():
        mined = [
            zh for zh, _ in sorted(counter.items(), key=lambda kv: (-kv[1], len(kv[0]), kv[0]))
        ]
        # A longer candidate that contains a shorter one for the same key is a left-edge
        # error (中国人工智能 next to 人工智能): keep the shorter.
        mined = [z for z in mined if not any(o != z and o in z for o in mined)]
        merged = pairs.setdefault(en, [])
        merged.extend(z for z in mined if z not in merged)
    return Lexicon({k: tuple(v) for k, v in pairs.items()})


def is_english(query: str) -> bool:
    """True when under a fifth of the query's letters are Chinese characters."""
    letters = [ch for ch in query if ch.isalpha()]
    if not letters:
        return False
    cjk = sum(1 for ch in letters if _is_cjk(ch))
    return cjk / len(letters) < 0.2


def expand_query(query: str, lexicon: Lexicon) -> list[str]:
    """Chinese terms for the lexicon's English terms found in `query`, longest match first."""
    found: list[str] = []
    for _, _, terms in _lexicon_matches(_match_words(query), lexicon):
        found.extend(t for t in terms if t not in found)
    return found


def uncovered_runs(query: str, lexicon: Lexicon) -> list[tuple[str, ...]]:
    """The runs of `query`'s words (lower-cased, not singularised) that no lexicon term
    covers, in order: what a fallback translator (index/dictionary.py) may still render.

    Runs, not one list, so a phrase lookup never joins words a covered term stood between.
    """
    raw = _raw_words(query)
    covered = [False] * len(raw)
    for start, size, _ in _lexicon_matches(tuple(_singular(w) for w in raw), lexicon):
        covered[start : start + size] = [True] * size
    runs: list[tuple[str, ...]] = []
    current: list[str] = []
    for word, done in zip(raw, covered, strict=True):
        if done:
            if current:
                runs.append(tuple(current))
            current = []
        else:
            current.append(word)
    if current:
        runs.append(tuple(current))
    return runs


def _lexicon_matches(
    words: tuple[str, ...], lexicon: Lexicon
) -> list[tuple[int, int, tuple[str, ...]]]:
    # (start, size, terms) of each longest lexicon match, left to right.
    index = lexicon._by_words
    longest = max((len(k) for k in index), default=0)
    matches: list[tuple[int, int, tuple[str, ...]]] = []
    i = 0
    while i < len(words):
        for size in range(min(longest, len(words) - i), 0, -1):
            terms = index.get(words[i : i + size])
            if terms:
                matches.append((i, size, terms))
                i += size
                break
        else:
            i += 1
    return matches


def domain_terms(lexicon: Lexicon) -> list[str]:
    """Chinese terms (2–8 characters) that jieba should keep whole, sorted.

    English keys are left out on purpose: jieba already keeps an ASCII run whole, and a
    dictionary entry for `ai` would split `aiot` into `ai` + `ot`. Longer Chinese terms are
    left out too: they are the likeliest left-edge mistakes, and jieba's search mode
    already emits their dictionary parts.
    """
    terms = {
        t
        for ts in lexicon.pairs.values()
        for t in ts
        if len(t) <= MAX_DOMAIN_CHARS and any(_is_cjk(c) for c in t)
    }
    return sorted(terms)


def _pairs_in(text: str) -> Iterable[tuple[str, str]]:
    for m in _GLOSSARY.finditer(text):
        zh = _clean_zh(m.group("zh"))
        for en in (m.group("abbr"), m.group("long")):
            yield from _emit(en, zh)
    for m in _ZH_EN.finditer(text):
        run, abbr = _split_glued_abbr(m.group("zh"))
        gloss = m.group("en")
        if abbr and len(gloss) <= len(abbr):
            continue  # 精准适配Fan-out（FO）: the bracket abbreviates the English, not the Chinese
        zh = _left_edge(run)
        for en in re.split(r"[,;，；、]", gloss):
            yield from _emit(en, zh)
        if abbr:
            yield from _emit(abbr, zh)
    for m in _EN_ZH.finditer(text):
        zh = _clean_zh(m.group("zh"))
        if zh and not any(n in zh for n in _ZH_GLOSS_NOISE):
            words = m.group("en").split()
            # A long English run is a sentence ending in the glossed word: keep that word.
            yield from _emit(" ".join(words if len(words) <= 3 else words[-1:]), zh)


def _emit(english: str, zh: str | None) -> Iterable[tuple[str, str]]:
    en = _norm_en(english)
    if zh and _good_en(en) and _good_zh(zh):
        yield en, zh


def _split_glued_abbr(run: str) -> tuple[str, str | None]:
    # 硅转接板芯粒系统SiCS（Silicon interposer…）: the glued ASCII is the abbreviation.
    m = re.fullmatch(rf"(.*[{_CJK}])([A-Za-z][A-Za-z0-9\-]*)", run)
    return (m.group(1), m.group(2)) if m else (run, None)


def _left_edge(run: str) -> str | None:
    words = [w for w in jieba.lcut(run) if w.strip()]
    start = 0
    for i, w in enumerate(words[:-1]):  # the last word is the term's head, never a stop
        oov = len(w) > 1 and not jieba.get_FREQ(w)  # a word jieba's HMM made up
        if w in _LEFT_STOPS or w.isdigit() or (i > 0 and words[i - 1].isdigit() and w in "年月日"):
            start = i + 1
        elif oov and w[-1] in _STOP_CHARS:
            start = i + 1
        elif oov and w[0] in _STOP_CHARS:
            start, words[i] = i, w[1:]
    words = words[start:]
    while len(words) > 1 and (words[0] in ("年", "月", "日") or words[0].islower()):
        words = words[1:]  # the tail of a date or unit before it (2021 年…, 7 nm节点 → 节点)
    while sum(map(len, words)) > MAX_ZH_CHARS and len(words) > 1:
        words = words[1:]
    return _clean_zh("".join(words))


def _clean_zh(zh: str) -> str | None:
    zh = zh.strip(" .-")
    for prefix in _PLACE_PREFIXES:
        if zh.startswith(prefix) and len(zh) - len(prefix) >= 2:
            zh = zh[len(prefix) :]
            break
    for suffix in _COMPANY_SUFFIXES:
        if zh.endswith(suffix) and len(zh) - len(suffix) >= 2:
            zh = zh[: -len(suffix)]
            break
    return zh or None


def _good_zh(zh: str) -> bool:
    cjk = sum(1 for c in zh if _is_cjk(c))
    generic = zh in _GENERIC_ZH or zh in _PLACE_PREFIXES
    return 2 <= len(zh) <= MAX_ZH_CHARS and cjk >= 2 and not generic


def _good_en(en: str) -> bool:
    words = en.split()
    return (
        len(en) >= 2
        and any("a" <= c <= "z" for c in en)
        and 1 <= len(words) <= MAX_EN_WORDS
        and not all(w in _EN_STOPWORDS for w in words)
        and not re.fullmatch(r"[\d\[\]().,\s-]+[a-z]?", en)  # 2021a, [1]
        and not any(s in en for s in ("http", "www", "@", "et al", "<", ">", "、"))
    )


def _norm_en(text: str) -> str:
    text = re.sub(r"[™®*:：\"'“”]+", "", text)
    return " ".join(text.lower().split()).strip(" .,;-")


def _match_words(text: str) -> tuple[str, ...]:
    return tuple(_singular(w) for w in _raw_words(text))


def _raw_words(text: str) -> tuple[str, ...]:
    # Hyphens and slashes separate words (fan-out = fan out); possessives go.
    text = re.sub(r"[-/_]", " ", text.lower()).replace("’", "'")
    words = (w.rstrip(".'").removesuffix("'s") for w in _EN_WORD.findall(text))
    return tuple(w for w in words if w)


def _singular(word: str) -> str:
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf"
