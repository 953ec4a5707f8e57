"""Child process for the crash test: ingests a folder with the hashing embedder, and with
a STAGE argument SIGKILLs itself at that point of the version switch.

    python tests/crash_child.py INDEX_ROOT DOCS_DIR [STAGE]

Prints READY once imports and jieba's dictionary are loaded, so the parent's random kill
delays fall on the write itself rather than on interpreter start-up.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hashing_embedder import HashingEmbedder  # noqa: E402

import index.versions as versions  # noqa: E402
from index.build import IndexBuilder  # noqa: E402
from index.keyword import configure_jieba, tokenize  # noqa: E402
from index.versions import VersionStore  # noqa: E402

STAGES = ("before-fsync", "before-rename", "after-rename", "before-pointer", "after-pointer")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _arm(stage: str) -> None:
    """Patch the version writer's steps so the process kills itself at `stage`."""
    real_replace = os.replace
    real_fsync_tree = versions._fsync_tree

    def replace(src: Any, dst: Any) -> None:
        src_name = Path(src).name
        if stage == "before-rename" and src_name.startswith(".tmp-"):
            _die()
        if stage == "before-pointer" and src_name.startswith(".CURRENT"):
            _die()
        real_replace(src, dst)
        if stage == "after-rename" and src_name.startswith(".tmp-"):
            _die()
        if stage == "after-pointer" and Path(dst).name == "CURRENT":
            _die()

    def fsync_tree(root: Path) -> None:
        if stage == "before-fsync":
            _die()
        real_fsync_tree(root)

    os.replace = replace  # type: ignore[assignment]
    versions._fsync_tree = fsync_tree


def main() -> None:
    root, docs = Path(sys.argv[1]), Path(sys.argv[2])
    stage = sys.argv[3] if len(sys.argv) > 3 else ""
    configure_jieba(root.parent / "cache")
    tokenize("先进封装的良率")  # loads jieba's dictionary before READY
    builder = IndexBuilder(store=VersionStore(root), count_tokens=len, embedder=HashingEmbedder())
    if stage:
        _arm(stage)
    print("READY", flush=True)
    summary = builder.ingest([docs])
    print("DONE", summary.version, flush=True)


if __name__ == "__main__":
    main()
