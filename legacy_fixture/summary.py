"""What a generation wrote: per-table figures and the text make_legacy_db prints."""

from dataclasses import dataclass


@dataclass
class TableSummary:
    """What was generated for one child table."""

    table: str
    total_rows: int
    distinct_keys: int
    divergent_groups: int = 0
    null_sync_groups: int = 0
    inverted_groups: int = 0

    @property
    def duplication_factor(self) -> float:
        return self.total_rows / self.distinct_keys if self.distinct_keys else 0.0


@dataclass
class GenerationSummary:
    """What generate_legacy_data() wrote: per-table figures, parents, time taken."""

    scale: float
    seed: int
    regions: int
    vendor: str
    tables: dict[str, TableSummary]
    parent_rows: dict[str, int]
    seconds: float = 0.0
    migrated: bool = False

    @property
    def total_rows(self) -> int:
        return sum(t.total_rows for t in self.tables.values())

    def lines(self) -> list[str]:
        """The summary as readable text lines."""
        out = [
            f"Legacy data at scale {self.scale:g} (seed {self.seed}, {self.regions} regions) "
            f"on {self.vendor}:",
            "  parents: " + ", ".join(f"{t} {n:,}" for t, n in self.parent_rows.items()),
            f"  {'table':<20} {'rows':>12} {'distinct keys':>14} {'factor':>9} "
            f"{'divergent':>10} {'null sync':>10} {'inverted':>9}",
        ]
        for t in self.tables.values():
            out.append(
                f"  {t.table:<20} {t.total_rows:>12,} {t.distinct_keys:>14,} "
                f"{t.duplication_factor:>8.1f}x {t.divergent_groups:>10,} "
                f"{t.null_sync_groups:>10,} {t.inverted_groups:>9,}"
            )
        distinct = sum(t.distinct_keys for t in self.tables.values())
        out.append(f"  {'total':<20} {self.total_rows:>12,} {distinct:>14,}")
        out.append(f"Done in {self.seconds:.1f} s.")
        return out
