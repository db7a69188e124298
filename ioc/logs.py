"""Log lines for people (text) or for a log pipeline (one JSON object per line).

A log call gives an operator's context through `extra=` (feed, asset, district); both
formats carry it, the text one as `key=value` after the message.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Literal

import orjson

# The structured context a log call may pass with `extra=`.
CONTEXT = ("feed", "asset", "district")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def _context(record: logging.LogRecord) -> dict[str, object]:
    return {key: getattr(record, key) for key in CONTEXT if getattr(record, key, None) is not None}


class JsonFormatter(logging.Formatter):
    """Each record as one JSON object: time, level, logger, message, context, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a line of JSON."""
        line: dict[str, object] = {
            # When the line was written, on the machine's clock: logs are read beside other
            # systems' logs, not in the simulated city's time.
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            **_context(record),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return orjson.dumps(line, default=str).decode()


class TextFormatter(logging.Formatter):
    """The usual text line, with any context appended as `key=value`."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The line before any exception text."""
        context = _context(record)
        text = super().formatMessage(record)
        return text + "".join(f" {key}={value}" for key, value in context.items())


def configure(log_format: Literal["text", "json"], level: int = logging.INFO) -> None:
    """Send every log line, the web server's included, to stderr in `log_format`."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
