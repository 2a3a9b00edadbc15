"""JSON log lines (R-D4): one object per line, with the request id of the request being served.

Imported by the settings, so it uses the standard library only.
"""

import contextvars
import json
import logging
import os
from datetime import UTC, datetime
from typing import Any

# The id of the request this thread serves; set by RequestLogMiddleware, read by every log line.
current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "skarbiec_request_id", default=None
)

# Attributes every LogRecord has; anything else on a record came in through `extra=`.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        request_id = current_request_id.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class ClientCausedSecurityEvents(logging.Filter):
    """Django logs a request it refuses as suspicious (too many fields or files, a host not
    ours) at ERROR with its own traceback. Anyone can send those at will: as errors they would
    drown the server's real errors and page whoever watches them. They stay in the log, as
    warnings, without Django's stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("django.security.") and record.levelno == logging.ERROR:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True


def logging_config(level: str | None = None, fmt: str | None = None) -> dict[str, Any]:
    """Django's LOGGING: JSON to stderr unless SKARBIEC_LOG_FORMAT=text (for a developer's eyes)."""
    level = level or os.environ.get("SKARBIEC_LOG_LEVEL", "INFO")
    fmt = fmt or os.environ.get("SKARBIEC_LOG_FORMAT", "json")
    formatter: dict[str, Any] = (
        {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
        if fmt == "text"
        else {"()": JsonFormatter}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "filters": {"client_caused": {"()": ClientCausedSecurityEvents}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "main",
                "filters": ["client_caused"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {"django.request": {"level": "ERROR"}},
    }
