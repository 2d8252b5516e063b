"""The figures derived from a table's counts, shared by live scans and stored snapshots."""


class DuplicateFigures:
    """Needs `rows`, `distinct_keys`, `table_bytes`, `unique_bytes_estimate` and the two
    constraint flags, as attributes or properties."""

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
    def wasted_bytes(self) -> int | None:
        unique = self.unique_bytes_estimate
        if self.table_bytes is None or unique is None:
            return None
        return self.table_bytes - unique

    @property
    def healthy(self) -> bool:
        return self.duplicates == 0 and self.constraint_present and self.constraint_valid
