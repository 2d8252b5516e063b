"""Log formatters: plain text or one JSON object per line, both redacting URL passwords."""

import json
import logging
import re
from datetime import UTC, datetime

from breezeway.logcontext import CONTEXT_FIELDS
from breezeway.security import mask_url_passwords

# An Authorization header value (an API token) echoed in a message or exception.
BEARER_TOKEN = re.compile(r"(?i)\b(bearer\s+)[a-z0-9._~+/=-]+")
REDACTED = "***"


def redact(text: str) -> str:
    """`text` without URL passwords and bearer tokens."""
    # A connection string (a database or broker URL in an exception text) must never reach
    # the logs whole, whoever logged it: the error pages' rule, breezeway.security's.
    text = mask_url_passwords(text, REDACTED)
    return BEARER_TOKEN.sub(rf"\1{REDACTED}", text)


class PlainFormatter(logging.Formatter):
    """The plain text format (a format string in LOGGING), redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO-8601 UTC), level, logger, message, the log context
    (region, entity, run_id) when known, and the exception or stack text when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        # default=str: a context value of another type (a UUID) still gives a line, not an error.
        return json.dumps(entry, ensure_ascii=False, default=str)
