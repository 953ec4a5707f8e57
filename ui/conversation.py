"""A web chat's memory: the finished turns, kept as plain data in the browser session, and
the history the pipeline gets for a follow-up (the same shape /v1/ask takes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from service.llm.base import Message
from service.results import Answer, Language


@dataclass(frozen=True, slots=True)
class Turn:
    """One answered question; hits and citations in their CONTRACT JSON shapes."""

    number: int  # 1-based; makes the anchors of this turn's source cards unique
    question: str
    language: Language
    answer: str  # as the pipeline wrote it, with [n] markers
    refused: bool
    citations: tuple[dict[str, Any], ...]
    hits: tuple[dict[str, Any], ...]
    backend: str
    total_ms: float

    @classmethod
    def from_answer(cls, number: int, answer: Answer) -> Turn:
        """The turn for a finished Answer."""
        return cls(
            number=number,
            question=answer.question,
            language=answer.language,
            answer=answer.answer,
            refused=answer.refused,
            citations=tuple(c.to_dict() for c in answer.citations),
            hits=tuple(h.to_dict() for h in answer.hits),
            backend=answer.backend,
            total_ms=float(answer.timings_ms.get("total", 0.0)),
        )


def history_messages(turns: Sequence[Turn]) -> list[Message]:
    """The earlier turns as the chat history a follow-up question is answered with."""
    messages: list[Message] = []
    for turn in turns:
        messages.append(Message("user", turn.question))
        messages.append(Message("assistant", turn.answer))
    return messages
