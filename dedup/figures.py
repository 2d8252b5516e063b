"""The figures derived from a table's counts, shared by live scans and stored snapshots."""

from collections.abc import Sequence
from typing import Any


class DuplicateFigures:
    """Needs `rows`, `distinct_keys`, `table_bytes` and the two constraint flags."""

    rows: int
    distinct_keys: int
    table_bytes: int | None
    constraint_present: bool
    constraint_valid: bool

    @property
    def duplicates(self) -> int:
        return self.rows - self.distinct_keys

    @property
    def duplicate_pct(self) -> float:
        return 100.0 * self.duplicates / self.rows if self.rows else 0.0

    @property
    def factor(self) -> float:
        return self.rows / self.distinct_keys if self.distinct_keys else 1.0

    @property
    def unique_bytes_estimate(self) -> int | None:
        """The size the table would have without its duplicates (proportional estimate)."""
        if self.table_bytes is None:
            return None
        if not self.rows:
            return self.table_bytes
        return round(self.table_bytes * self.distinct_keys / self.rows)

    @property
    def wasted_bytes(self) -> int | None:
        unique = self.unique_bytes_estimate
        return None if unique is None else self.table_bytes - unique

    @property
    def healthy(self) -> bool:
        return self.duplicates == 0 and self.constraint_present and self.constraint_valid


def totals(tables: Sequence[DuplicateFigures]) -> dict[str, Any]:
    """The figures of several tables together (sizes unknown if any table's is)."""
    rows = sum(t.rows for t in tables)
    distinct = sum(t.distinct_keys for t in tables)
    sizes = [t.table_bytes for t in tables]
    known = None not in sizes
    return {
        "rows": rows,
        "distinct_keys": distinct,
        "duplicates": rows - distinct,
        "duplicate_pct": round(100.0 * (rows - distinct) / rows, 4) if rows else 0.0,
        "factor": round(rows / distinct, 2) if distinct else 1.0,
        "table_bytes": sum(sizes) if known else None,
        "unique_bytes_estimate": sum(t.unique_bytes_estimate for t in tables) if known else None,
    }


def human_bytes(value: int | None) -> str:
    if value is None:
        return "n/a"
    size = float(value)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"
