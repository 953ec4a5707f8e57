"""XinDa's one error hierarchy. Defined on the lowest floor so every layer can raise it;
the HTTP layer and the CLI map each class to a status code / exit code in one place."""

from __future__ import annotations


class XinDaError(Exception):
    """Base of every error XinDa raises on purpose; its message is safe to show a user."""


class BadInput(XinDaError):
    """The caller handed something unusable (a missing path, an empty question, bad k)."""


class SkippedFile(BadInput):
    """A file cannot be ingested (unsupported type, empty, corrupt, undecodable)."""


class NotFound(XinDaError):
    """A named thing (document, index version, model file) does not exist."""


class IndexMismatch(XinDaError):
    """The index on disk does not match the settings or fails its integrity check."""


class BackendUnavailable(XinDaError):
    """A model or LLM server cannot be loaded or reached."""


class BackendTimeout(XinDaError):
    """A model or LLM server did not answer in time."""


class Overloaded(XinDaError):
    """Too many requests are queued; the caller should retry later."""


class StorageError(XinDaError):
    """The index cannot be written (disk full, read-only); the served version is unchanged."""
