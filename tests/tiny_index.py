"""A XINDA_HOME with two short documents indexed by the real embedder (seconds, once the
model is loaded), for tests that need a served index but not the whole corpus."""

from __future__ import annotations

from pathlib import Path

from service.settings import Settings
from service.wiring import make_builder

DOCS = {
    "a.md": "# 封装报告\n\n2025年，长电科技的先进封装收入达到了120亿元。\n",
    "b.md": "# 设备报告\n\n北方华创2025年刻蚀设备出货量增长了35%。\n",
}


def write_docs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def build_tiny_home(home: Path, models_dir: Path, docs: Path) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    (home / "models").symlink_to(models_dir, target_is_directory=True)
    make_builder(Settings(home=home)).ingest([write_docs(docs)])
    return home
