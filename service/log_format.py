"""Structured logs: one JSON object per line, carrying the request id of the request that
logged it, so a user's `X-Request-ID` finds every line about their request."""

from __future__ import annotations

import json
import logging
import sys
import time
from contextvars import ContextVar
from typing import Any

request_id: ContextVar[str | None] = ContextVar("xinda_request_id", default=None)


class JsonLineFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "message", "request_id", …fields, "exc"}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        rid = getattr(record, "request_id", None) or request_id.get()
        if rid:
            line["request_id"] = rid
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)  # server side only
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_json_logging(level: int = logging.INFO) -> logging.Handler:
    """Send XinDa's loggers to stderr as JSON lines (called where the server starts)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLineFormatter())
    logger = logging.getLogger("xinda")
    logger.handlers = [h for h in logger.handlers if not isinstance(h.formatter, JsonLineFormatter)]
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return handler
