"""`xinda eval` end to end: bad usage exits 2; a deliberately degraded system fails the
project's gates (exit 1) and the baseline diff lists what flipped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evals.dataset import load_eval_set, normalise_for_match
from evals.sample import stratified_sample
from service.settings import Settings
from service.wiring import make_builder
from ui.cli import app

ROOT = Path(__file__).resolve().parent.parent
QA = ROOT / "evals" / "qa.jsonl"
GATES = ROOT / "evals" / "gates.toml"

# A document that answers none of the eval questions: an index of it is a retrieval
# system gone wrong (the wrong corpus), so every gated figure must collapse.
UNRELATED = """# 西湖游记

西湖位于杭州城西，三面环山，湖面被苏堤和白堤分隔。春天的苏堤桃红柳绿，游人如织。
夏日荷花盛开，曲院风荷是赏荷的好去处。秋天可以在平湖秋月赏月，冬天断桥残雪最为有名。
湖边的茶园出产龙井茶，茶农在清明前采摘嫩芽，炒制后香气清高。游客喜欢坐船游湖，
也喜欢沿着湖岸骑自行车，看雷峰塔的倒影。傍晚时分，湖面上的游船陆续靠岸，
街边的小吃店飘出葱包桧和定胜糕的香味。
"""

runner = CliRunner()


def test_gates_need_a_backend() -> None:
    result = runner.invoke(app, ["eval", "--gates", str(GATES)])
    assert result.exit_code == 2
    assert "--llm" in result.output


def test_bad_gates_file_is_bad_usage(tmp_path: Path) -> None:
    bad = tmp_path / "gates.toml"
    bad.write_text("[extractive]\nacuracy = { min = 0.5 }\n", encoding="utf-8")
    result = runner.invoke(app, ["eval", "--llm", "extractive", "--gates", str(bad)])
    assert result.exit_code == 2
    assert "unknown metric" in result.output


def test_missing_baseline_is_bad_usage(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "--baseline", str(tmp_path / "none.json")])
    assert result.exit_code == 2
    assert "baseline report not found" in result.output


@pytest.mark.slow
def test_degraded_run_fails_the_gates(tmp_path: Path, models_dir: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "westlake.md").write_text(UNRELATED, encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    (home / "models").symlink_to(models_dir, target_is_directory=True)
    make_builder(Settings(home=home)).ingest([docs])

    sample = stratified_sample([i for i in load_eval_set(QA) if i.split == "test"], 12)
    folded = normalise_for_match(UNRELATED)
    assert not any(normalise_for_match(a) in folded for i in sample for a in i.answers)
    # The baseline: a run where every one of these questions was answered right.
    baseline = tmp_path / "baseline.json"
    items = {i.id: {"right": True, "answer": "旧", "lang": i.lang} for i in sample}
    baseline.write_text(json.dumps({"items": {"extractive": items}}), encoding="utf-8")

    out = tmp_path / "report"
    args = ["eval", "--set", str(QA), "--split", "test", "--sample", "12", "--llm", "extractive"]
    args += ["--gates", str(GATES), "--baseline", str(baseline), "--out", str(out)]
    env = {"XINDA_HOME": str(home), "XINDA_CORPUS_DIR": str(docs), "XINDA_LLM": "extractive"}
    result = runner.invoke(app, args, env=env)

    assert result.exit_code == 1, result.output
    assert "gate(s) failed" in result.output and "| FAIL |" in result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["meta"]["sample"] == 12 and report["meta"]["items"] == 12
    verdicts = {v["metric"]: v for v in report["gates"] if v["backend"] == "extractive"}
    for metric in ("accuracy", "accuracy_zh", "accuracy_en", "retrieval_recall_at_5"):
        assert verdicts[metric]["value"] == 0.0 and not verdicts[metric]["passed"], metric
    flipped = report["baseline"]["backends"]["extractive"]
    wrong_now = {k for k, r in report["items"]["extractive"].items() if not r["right"]}
    assert {f["id"] for f in flipped["right_to_wrong"]} == wrong_now
    assert len(wrong_now) >= 10  # at least every answerable question
    assert (out / "report.md").read_text(encoding="utf-8").count("| FAIL |") >= 4
    assert (out / "report.png").stat().st_size > 10_000
