"""Log context: the region, entity and sync run a log line is about, added by a logging filter."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

# The fields every log record carries (None when unknown), in the order formatters show them.
CONTEXT_FIELDS = ("region", "entity", "run_id")

# A ContextVar, not a thread-local: each thread and each asyncio task sees its own context, and
# the value set by a `with` block is undone when it ends, even on an exception.
_context: ContextVar[dict[str, object] | None] = ContextVar("breezeway_log_context", default=None)


@contextmanager
def log_context(**fields: object) -> Iterator[None]:
    """Within the block, log records carry these fields (added to any enclosing ones)."""
    unknown = set(fields) - set(CONTEXT_FIELDS)
    if unknown:
        raise TypeError(f"unknown log context field(s): {', '.join(sorted(unknown))}")
    token = _context.set({**(_context.get() or {}), **fields})
    try:
        yield
    finally:
        _context.reset(token)


def current_log_context() -> dict[str, object]:
    """The fields set by the enclosing log_context blocks."""
    return dict(_context.get() or {})


class LogContextFilter(logging.Filter):
    """Adds region, entity and run_id to every record (None outside any log_context).

    Attached to handlers, not loggers, so records of every logger (httpx, celery) get them."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = _context.get() or {}
        for name in CONTEXT_FIELDS:
            # A value passed with extra= wins over the context.
            if not hasattr(record, name):
                setattr(record, name, context.get(name))
        return True
