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
