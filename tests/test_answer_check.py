"""The focus check: does a sentence show the metric, year and name a question asks about?"""

from __future__ import annotations

import pytest

from index.retriever import Hit, RetrieverRank, Why
from ingest.document import Chunk
from service.answer_check import (
    focus_misses,
    question_focus,
    quoted_names,
    rare_anchors,
)
from service.llm.extractive import (
    Candidate,
    _answer_misses,
    _with_list_items,
    asked_words,
    candidates_for,
    cheap_score,
)
from service.refusal import grouped_coverage, term_coverage, topicality


def hit(text: str, rank: int) -> Hit:
    chunk = Chunk(f"c{rank}", "d", "doc.txt", "标题", None, text, 1, text.count("\n") + 1)
    return Hit(rank=rank, score=1.0, chunk=chunk)


def test_revenue_question_needs_revenue_and_year() -> None:
    focus = question_focus("2024年通富微电的营业收入是多少亿元？")
    assert focus.families == ("revenue",)
    assert focus.years == ("2024",)
    assert focus.figure
    share = "2023年，全球市占率排名前五的OSAT厂商为日月光、安靠科技、长电科技、通富微电。"
    assert set(focus_misses(focus, share)) == {"revenue", "year 2024", "unit money"}
    revenue = "2024年，通富微电实现营业收入238.8亿元。"
    assert focus_misses(focus, revenue) == ()


def test_english_metric_words_match_chinese_passages() -> None:
    focus = question_focus("How many employees does Amkor have in China?")
    assert "headcount" in focus.families
    assert focus_misses(focus, "安靠在中国共有员工约5000人。") == ()
    assert "headcount" in focus_misses(focus, "安靠科技的市场份额为14.1%。")


def test_a_why_question_does_not_ask_for_the_metric() -> None:
    assert question_focus("与传统SoC相比，Chiplet为何能提高良率？").families == ()
    assert question_focus("What yield has Samsung reached on 3nm?").families == ("yield",)


def test_figure_may_be_written_in_chinese_numerals() -> None:
    focus = question_focus("广州的政策从几个维度提出了支持措施？")
    assert focus.figure
    assert "figure" not in focus_misses(focus, "政策从七大维度提出支持措施。")
    assert "figure" in focus_misses(focus, "政策提出支持措施。")


def test_a_figure_asked_in_a_unit_must_be_given_in_it() -> None:
    watts = question_focus("梦芯科技逐梦系列北斗芯片的功耗是多少毫瓦？")
    assert watts.units == ("watts",)
    # The power family and a figure, but not a power: the near miss the unit catches.
    assert focus_misses(watts, "相比同类产品尺寸缩小50%，功耗降低40%。") == ("unit watts",)
    assert focus_misses(watts, "芯片典型功耗为 35 mW。") == ()
    assert focus_misses(watts, "芯片功耗仅三十毫瓦。") == ()
    people = question_focus("How many people work in Hangzhou's chip industry?")
    assert people.units == ("people",)
    assert focus_misses(people, "杭州集成电路从业人员约5.2万人。") == ()
    wafers = question_focus("产业园每年能生产多少片衬底？")
    assert focus_misses(wafers, "预计年产 30 万片磷化铟单晶衬底片。") == ()  # PDF spacing
    assert focus_misses(people, "杭州集成电路产业营收增长12%。") == ("headcount", "unit people")
    # 人民币 is a currency, not people; a question without a unit asks for none.
    assert question_focus("投资总额是多少人民币？").units == ()
    assert question_focus("市场规模将达到多少？").units == ()
    assert question_focus("该公司在排行榜中位列第几名？").units == ()  # a rank


def test_a_process_node_is_a_figure_or_a_node_name() -> None:
    focus = question_focus("龙芯9A2000 GPU采用的是几纳米工艺？")
    assert focus.families == ("process_node",)
    assert "process_node" in focus_misses(focus, "总体性能再翻一倍，达到同工艺代下国际先进水平")
    assert focus_misses(focus, "该芯片将采用台积电2纳米制程。") == ()
    english = question_focus("What process node is the chip built on?")
    assert focus_misses(english, "台积电 N2 节点支持 12 层 HBM4 集成。") == ()
    assert focus_misses(english, "随着先进制程逼近物理极限。") == ("process_node",)


def test_anchors_only_bind_when_a_value_is_asked() -> None:
    anchors = (("日月光",),)
    assert question_focus("日月光2024年的营业收入是多少？", anchors).anchors == anchors
    assert question_focus("日月光推出了什么封装平台？", anchors).anchors == ()


def test_anchor_alternatives_match_tokens_or_chinese_substrings() -> None:
    focus = question_focus("What was ASE's revenue in 2024?", (("ase", "日月光"),))
    window = "2024年日月光营收为185亿美元。"
    assert focus_misses(focus, window, passage_tokens=set(), passage_text=window) == ()
    other = "2024年长电科技营收为359亿元。"
    assert focus_misses(focus, other, passage_tokens=set(), passage_text=other) == ("name ase",)


def test_rare_anchors_keep_names_and_drop_common_words() -> None:
    df = {"盛合晶微": 3, "大约": 2, "营业收入": 40, "ase": 1, "market": 2, "手里": 0}.get
    general = {"大约": 3858}.get

    def count(t: str) -> int:
        return df(t) or 0

    def common(t: str) -> int:
        return general(t) or 0

    question = "盛合晶微大约 手里 营业收入 ASE market"
    tokens = ["盛合晶微", "晶微", "大约", "手里", "营业收入", "ase", "market"]
    # 晶微 has no frequency here (0 passages), 手里 neither; market is lower-case English.
    assert rare_anchors(question, tokens, count, common, max_df=12) == ("盛合晶微", "ase")


def test_product_codes_led_by_digits_are_names_and_figures_are_not() -> None:
    # 910C is the name a near-miss passage about another chip lacks; 5nm is the question's
    # figure, which a passage may write "5 nm".
    df = {"910c": 1, "5nm": 1, "3b6000": 2}.get

    def count(t: str) -> int:
        return df(t) or 0

    assert rare_anchors("昇腾910C采用5nm吗", ["910c", "5nm"], count, lambda t: 0, 12) == ("910c",)
    assert rare_anchors("龙芯3B6000", ["3b6000"], count, lambda t: 0, 12) == ("3b6000",)


def test_names_are_matched_across_the_spaces_pdf_text_puts_in() -> None:
    focus = question_focus("AI和AR眼镜的市场规模有多大？", (("ar眼镜",),))
    window = "预计 AI 和 AR 眼镜的市场规模会超越手机。"
    text = window.lower()
    assert focus_misses(focus, window, passage_tokens=set(), passage_text=text) == ()


def test_a_year_in_the_passage_heading_dates_the_passage() -> None:
    focus = question_focus("头豹2025年先进封装报告提到，深科技已完成了多少层堆叠技术的研发？")
    window = "深科技已完成了16层堆叠技术的研发，并具备了量产能力。"
    assert focus_misses(focus, window) == ("year 2025",)
    assert focus_misses(focus, window, heading="2025年中国半导体先进封装 行业研究") == ()
    # Only a year: a metric named in the heading is no figure of it in the sentence.
    revenue = question_focus("2024年通富微电的营业收入是多少亿元？")
    assert focus_misses(revenue, "通富微电市场份额为7.9%。", heading="2024年营业收入排名") == (
        "revenue",
        "unit money",
    )


def test_candidates_see_the_year_in_their_chunk_title() -> None:
    text = "深科技已完成了16层堆叠技术的研发，并具备了量产能力。"
    chunk = Chunk("c1", "d", "doc.txt", "2025年中国半导体先进封装", None, text, 1, 1)
    dated = Hit(rank=1, score=1.0, chunk=chunk)
    question = "2025年深科技已完成了多少层堆叠技术的研发？"
    assert candidates_for(question, [dated])[0].misses == ()
    assert candidates_for(question, [hit(text, 1)])[0].misses == ("year 2025",)


def _unit(position: int, misses: tuple[str, ...]) -> Candidate:
    return Candidate(position, 0, "句子。", 0.5, 0.0, 0.0, 1.0, misses)


def test_the_quote_shows_what_any_unit_of_the_best_passage_shows() -> None:
    best = _unit(1, ("capacity", "year 2024"))
    same_passage = _unit(1, ("year 2024",))
    other_passage = _unit(2, ())
    assert _answer_misses([best], best) == ("capacity", "year 2024")
    assert _answer_misses([best, same_passage], best) == ("year 2024",)
    # Another passage's year does not complete this one's figure.
    assert _answer_misses([best, other_passage], best) == ("capacity", "year 2024")


def test_candidates_behind_a_near_miss_rank_lower() -> None:
    lines = [
        "2023年，通富微电的市场份额为7.9%，位居全球第四。",
        "公司持续推进先进封装布局。",
        "其客户覆盖全球多家龙头企业。",
        "2024年，通富微电营业收入为238.8亿元。",
    ]
    cands = candidates_for("2024年通富微电的营业收入是多少？", [hit("\n".join(lines), 1)])
    share, revenue = cands[0], cands[-1]
    assert set(share.misses) == {"revenue", "year 2024"} and not revenue.misses
    assert cheap_score(revenue) > cheap_score(share)


def test_a_sentence_about_the_document_ranks_behind_one_about_its_subject() -> None:
    lines = [
        "摘 要：本文深入剖析中国 Chiplet 技术的发展路线图，提出产业政策建议。",
        "中国 Chiplet 技术面临国际形势、技术瓶颈、市场竞争和人才短缺等挑战。",
    ]
    about, subject = candidates_for("中国 Chiplet 技术面临哪些挑战？", [hit("\n".join(lines), 1)])
    assert about.factor < subject.factor == 1.0


@pytest.mark.parametrize(
    ("question", "asked"),
    [
        ("标的公司的评估增值率是多少？", {"增值率"}),  # before 是多少
        ("纳芯微董事长是谁？", {"董事长"}),
        ("一共建了几个研发中心？", {"研发", "中心"}),  # after 几个
        ("美国应用材料公司手里握有多少项专利技术？", {"专利技术"}),
        ("营业收入是多少亿元？", {"收入"}),  # 亿元 is the measure, not the thing asked
        ("What is CoWoS?", set()),
    ],
)
def test_asked_words_name_what_the_question_asks_for(question: str, asked: set[str]) -> None:
    words = set(asked_words(question))
    assert asked <= words
    assert not {"亿元", "公司", "美国"} & words


def test_with_the_asked_words_emphasised_the_sentence_holding_them_outranks_the_subject() -> None:
    # Dev zh-117's shape: the first sentence repeats the question's subject, the second
    # holds the 研发中心 asked for and the answer.
    lines = [
        "1954年成立的日本爱德万测试（Advantest）公司是全球领先的半导体测试设备供应商。",
        "该公司共建立了12个研发中心。",
    ]
    question = "日本爱德万测试（Advantest）在日、美、欧、中四地一共建了几个研发中心？"
    hits = [hit("\n".join(lines), 1)]
    subject, asked = candidates_for(question, hits)
    assert cheap_score(asked) < cheap_score(subject)
    subject, asked = candidates_for(question, hits, emphasis=asked_words(question))
    assert cheap_score(asked) > cheap_score(subject)


def test_list_questions_quote_the_items_after_a_lead_in() -> None:
    text = "封装工艺分为0级到3级共四个等级。\n0级为晶圆切割。\n1级为芯片级封装。"
    hits = [hit(text, 1)]
    best = candidates_for("封装的0级到3级分别是什么？", hits)[0]
    picked = _with_list_items([(1, best.text)], best, hits)
    assert [t for _, t in picked] == [
        "封装工艺分为0级到3级共四个等级。",
        "0级为晶圆切割。",
        "1级为芯片级封装。",
    ]


def test_follow_up_detection() -> None:
    from service.answer import looks_like_follow_up

    assert looks_like_follow_up("那它的市场规模呢？")
    assert looks_like_follow_up("What about its market size?")
    assert not looks_like_follow_up("台积电2024年的先进封装营收是多少？")
    assert not looks_like_follow_up("What is a chiplet?")


def test_quoted_names_are_the_chinese_runs_of_a_question() -> None:
    question = "How many 12-inch wafers per month does 长鑫存储 (CXMT) produce at 长鑫存储?"
    assert quoted_names(question) == ("长鑫存储",)
    assert quoted_names("What is hybrid bonding?") == ()
    # A single character is a unit or a stray, not a name.
    assert quoted_names("How many 个 are there?") == ()


def test_grouped_coverage_counts_a_group_once_by_any_alternative() -> None:
    df = {"龙芯": 5, "开始": 40, "启动": 20, "research": 2, "研究": 30}.get

    def count(t: str) -> int:
        return df(t) or 0

    passage = "龙芯自 2016 年便启动了 GPU 的预研工作"
    groups = [["龙芯"], ["开始", "启动"], ["research", "研究"]]
    covered = grouped_coverage(groups, [passage], count, total_documents=100)
    assert 0 < covered < 1
    # Singleton groups are plain term coverage.
    singles = [["龙芯"], ["research"]]
    assert grouped_coverage(singles, [passage], count, 100) == term_coverage(
        ["龙芯", "research"], [passage], count, 100
    )
    # A group weighs as its most frequent alternative: a rare wrong translation added to
    # a missing word cannot raise the share that word takes from the question.
    noisy = [["龙芯"], ["开始", "启动"], ["research", "研究", "罕见词"]]
    assert grouped_coverage(noisy, [passage], count, 100) == covered
    assert grouped_coverage([], [passage], count, 100) == 0.0
    # Concepts known to be in no passage weigh as tokens no passage holds.
    absent = grouped_coverage(groups, [passage], count, 100, absent=2)
    with_tokens = grouped_coverage([*groups, ["无此词甲"], ["无此词乙"]], [passage], count, 100)
    assert absent == pytest.approx(with_tokens) and absent < covered


def test_topicality_is_the_best_dense_cosine_and_neutral_without_one() -> None:
    def scored(rank: int, dense: float | None) -> Hit:
        why = Why(
            dense=None if dense is None else RetrieverRank(rank=rank, score=dense),
            bm25=RetrieverRank(rank=rank, score=3.0),
            query="q",
        )
        return Hit(rank=rank, score=1.0, chunk=hit("文本", rank).chunk, why=why)

    assert topicality([scored(1, 0.81), scored(2, 0.86), scored(3, None)]) == 0.86
    assert topicality([scored(1, None)]) == 1.0
    assert topicality([]) == 1.0
