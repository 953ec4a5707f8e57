"""A bounded queue for generation: one model runs at a time, a few requests may wait,
the rest are turned away at once (HTTP 429 with Retry-After) instead of piling up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from ingest.errors import Overloaded


class GenerationQueue:
    """Counts requests that are generating or waiting to; refuses past `capacity`."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._pending = 0
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        """Requests generating or waiting."""
        return self._pending

    def acquire(self) -> None:
        """Take a place; Overloaded when all are taken. Pair with `release`."""
        with self._lock:
            if self._pending >= self.capacity:
                raise Overloaded(
                    f"{self._pending} answers are being generated or waiting; retry shortly"
                )
            self._pending += 1

    def release(self) -> None:
        """Give a place back."""
        with self._lock:
            self._pending = max(0, self._pending - 1)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a place for the duration of one answer; Overloaded when full."""
        self.acquire()
        try:
            yield
        finally:
            self.release()
