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
                entry[key] = _loggable(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


#: The longest text an extra field of a log line keeps.
EXTRA_FIELD_CHARS = 300


def _loggable(value: Any) -> Any:
    """An extra field as it may be logged. Django attaches the request it refuses or fails on
    (`extra={"request": …}`), whose text is the whole URL: a member's history search or a
    PESEL typed into the back-office search would end up in the log (R-D4). A request is
    logged as its method and path only, without the query; any other text is cut short."""
    method, path = getattr(value, "method", None), getattr(value, "path", None)
    if isinstance(method, str) and isinstance(path, str):
        return f"{method} {path}"[:EXTRA_FIELD_CHARS]
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    return str(value)[:EXTRA_FIELD_CHARS]


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
        "loggers": {
            "django.request": {"level": "ERROR"},
            # fontTools lists each PDF's glyphs at INFO: noise, and a hint of its text.
            "fontTools": {"level": "WARNING"},
        },
    }
