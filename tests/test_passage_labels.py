"""Labels pairing values with what they belong to (service/passage_labels.py)."""

from __future__ import annotations

from service.passage_labels import label_insertions, labelled, render
from service.prompt import compact_passage


def test_a_year_range_labels_a_respectively_list_of_as_many_figures() -> None:
    text = (
        "2016—2020年我国电子产品制造设备的产量分别为 69.39 万台（套）、78.02 万台（套）、"
        "89.85万台（套）、98.74万台（套）、103.29万台（套），年均增长为10.46%。"
    )
    out = labelled(text)
    assert "2019年：98.74万台（套）、2020年：103.29万台（套）" in out
    assert (
        out.replace("2016年：", "")
        .replace("2017年：", "")
        .replace("2018年：", "")
        .replace("2019年：", "")
        .replace("2020年：", "")
        == text
    )  # labels only insert


def test_a_year_range_of_another_length_labels_nothing() -> None:
    text = "2016—2020年的市场规模分别为 44.2亿美元、49.2亿美元、54.5亿美元。"
    assert labelled(text) == text


def test_names_listed_before_respectively_label_the_values() -> None:
    text = (
        "而2023年，全球市占率排名前五的OSAT厂商为日月光、安靠科技、长电科技、通富微电和力成科技，"
        "市场份额分别为25.9%、14.1%、10.3%、7.9%和5.8%。"
    )
    out = labelled(text)
    assert "日月光：25.9%、安靠科技：14.1%、长电科技：10.3%、通富微电：7.9%和力成科技：5.8%" in out


def test_a_later_list_in_the_sentence_pairs_with_the_same_keys() -> None:
    text = (
        "2022年、2023年、2024年,力积存储的收入分别为6.10亿元、5.80亿元、6.46亿元,"
        "年内净亏损分别为1.39亿元、2.44亿元、1.09亿元。"
    )
    out = labelled(text)
    assert "2024年：6.46亿元" in out
    assert "年内净亏损分别为2022年：1.39亿元、2023年：2.44亿元、2024年：1.09亿元" in out


def test_a_conjunction_inside_a_word_does_not_split_a_key() -> None:
    # 参与 holds 与; the keys are 主导制定 and 参与制定国际标准并发布.
    text = "主导制定、参与制定国际标准并发布的，分别给予 100 万元、50 万元奖励。"
    assert "主导制定：100 万元、参与制定国际标准并发布：50 万元奖励" in labelled(text)


def test_a_key_list_longer_than_the_values_labels_nothing() -> None:
    # Three places, two awards: which two is not for string matching to guess.
    text = "引进国家、省级标准创新基地（中心）、标准创新联合体等，分别给予 20 万元、10 万元奖励。"
    assert labelled(text) == text


def test_a_name_ending_in_a_boundary_character_stays_whole() -> None:
    text = "华为、中兴分别持股 60%、40%。"
    assert labelled(text) == "华为、中兴分别持股 华为：60%、中兴：40%。"


def test_table_rows_get_their_column_names() -> None:
    text = (
        "表 1 集成电路逻辑器件技术路线图\n"
        "时间\t工艺节点 (nm)\t主要器件结构\t关键工艺\n"
        "2025 年\t2.1\tGAA\t侧向/原子级刻蚀\n"
        "2028 年\t1.5\tGAA\t非铜互联\n"
        "2031 年\tGAA-3D\t超大规模三维集成"
    )
    lines = labelled(text).split("\n")
    assert lines[1] == "时间\t工艺节点 (nm)\t主要器件结构\t关键工艺"
    assert lines[3] == "时间：2028 年\t工艺节点 (nm)：1.5\t主要器件结构：GAA\t关键工艺：非铜互联"
    assert lines[4] == "2031 年\tGAA-3D\t超大规模三维集成"  # a merged cell: no pairing


def test_a_header_row_of_figures_is_no_header() -> None:
    text = "说明\n2021\t5.0\t3.0\n2022\t4.0\t2.0"
    assert labelled(text) == text


def test_render_shows_the_labels_inside_a_span_only() -> None:
    text = "时间\t关键工艺\n2028 年\t非铜互联\n其他"
    labels = label_insertions(text)
    start = text.index("2028")
    end = text.index("\n其他")
    assert render(text, labels, start, end) == "时间：2028 年\t关键工艺：非铜互联"
    assert render(text, labels, end) == "\n其他"


def test_the_compact_passage_keeps_a_picked_row_with_its_labels() -> None:
    rows = "\n".join(f"{2000 + i} 年\t{i}.0\t结构{i}\t工艺{i}" for i in range(40))
    text = "时间\t工艺节点\t器件结构\t关键工艺\n" + rows
    picked = "2028 年\t28.0\t结构28\t工艺28"
    out = compact_passage(text, "2028年的关键工艺是什么？", 60, first=[picked])
    assert "时间：2028 年\t工艺节点：28.0\t器件结构：结构28\t关键工艺：工艺28" in out
