"""Answer-side data that crosses boundaries: citations and answers (frozen, defined once)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from index.retriever import Hit

Language = Literal["zh", "en"]

REFUSALS: dict[str, str] = {
    "zh": "资料中没有找到相关信息。",
    "en": "The documents do not contain this information.",
}


@dataclass(frozen=True, slots=True)
class Citation:
    """A retrieved passage cited as [n] in an answer."""

    n: int
    hit: Hit
    quotes: tuple[str, ...] = ()  # sentences of the passage that support the answer

    def to_dict(self) -> dict[str, Any]:
        """CONTRACT shape: `n` plus the Hit fields (and the supporting sentences)."""
        return {"n": self.n, **self.hit.to_dict(), "quotes": list(self.quotes)}


@dataclass(frozen=True, slots=True)
class Answer:
    """The result of answering one question."""

    question: str
    language: Language
    answer: str
    refused: bool
    citations: tuple[Citation, ...]
    backend: str
    timings_ms: dict[str, float] = field(default_factory=dict)
    hits: tuple[Hit, ...] = ()  # everything retrieved (the UI shows the closest passages)
    searched: str = ""  # the retrieval query actually used (rewritten / translated)
    dropped_claims: tuple[str, ...] = ()  # sentences removed by the grounding check
    fallback: str | None = None  # "extractive" when the generation was replaced by a quote

    def to_dict(self) -> dict[str, Any]:
        """CONTRACT shape of an Answer."""
        return {
            "question": self.question,
            "language": self.language,
            "answer": self.answer,
            "refused": self.refused,
            "citations": [c.to_dict() for c in self.citations],
            "backend": self.backend,
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms.items()},
            "searched": self.searched,
            "grounding": {"dropped": list(self.dropped_claims), "fallback": self.fallback},
        }
