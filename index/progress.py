"""How long work reports progress: a rich bar in the CLI, nothing in tests and the API."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """A sink for progress of one stage after another."""

    def start(self, description: str, total: int) -> None:
        """Begin a stage of `total` steps."""
        ...

    def advance(self, steps: int = 1) -> None:
        """Record finished steps."""
        ...


class NoProgress:
    """Progress that shows nothing."""

    def start(self, description: str, total: int) -> None:
        """Ignore."""

    def advance(self, steps: int = 1) -> None:
        """Ignore."""
