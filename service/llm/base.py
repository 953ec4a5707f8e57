"""The one Protocol every answer generator implements, and the message type it takes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message."""

    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class GenerationOptions:
    """Sampling and length limits; temperature 0 by default so answers are repeatable."""

    max_tokens: int = 320
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    timeout_s: float = 120.0


class Generator(Protocol):
    """A text generator: chat messages in, streamed text pieces out.

    Implementations raise `BackendUnavailable` when they cannot load or reach their model
    and `BackendTimeout` when it does not answer in time (both in `ingest.errors`).
    """

    name: str
    can_stream: bool

    def stream(self, messages: Sequence[Message], options: GenerationOptions) -> Iterator[str]:
        """Yield the answer text piece by piece as the model produces it."""
        ...

    def complete(self, messages: Sequence[Message], options: GenerationOptions) -> str:
        """The whole answer at once."""
        ...
