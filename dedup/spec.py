"""What the dedup engine knows of a table: columns, natural key, derived key, content."""

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from breezeway.keys import constraint_columns
from breezeway.natural_keys import DerivedKey

# Columns that record when a copy was written, not what it says: never compared.
SYNC_TIME_COLUMNS = ("last_sync_time",)
# The sync's bookkeeping of what it wrote (a hash of the source payload): not content either.
BOOKKEEPING_COLUMNS = ("content_hash",)


class RemediationError(RuntimeError):
    """The remediation could not run, or its result failed verification."""


@dataclass(frozen=True)
class TableSpec:
    """What the engine needs to know about one table, read from its model and constraint."""

    table: str
    pk_column: str
    columns: tuple[str, ...]
    key_columns: tuple[str, ...]
    content_columns: tuple[str, ...]
    sync_time_column: str | None
    derived: DerivedKey | None = None
    json_columns: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def for_model(
        cls,
        model: type[models.Model],
        constraint: models.UniqueConstraint,
        derived: DerivedKey | None = None,
    ) -> "TableSpec":
        concrete = [f for f in model._meta.concrete_fields]
        columns = tuple(f.column for f in concrete)
        key_columns = tuple(constraint_columns(model, constraint))
        if derived is not None:
            if derived.column not in key_columns:
                raise RemediationError(
                    f"{model._meta.db_table}: derived key column {derived.column!r} is not "
                    f"part of constraint {constraint.name} {key_columns}."
                )
            missing = [c for c in derived.sources if c not in columns]
            if missing:
                raise RemediationError(
                    f"{model._meta.db_table}: derived key sources {missing} are not columns."
                )
        pk = model._meta.pk.column
        sync_time = next((c for c in SYNC_TIME_COLUMNS if c in columns), None)
        skip = {pk, *SYNC_TIME_COLUMNS, *BOOKKEEPING_COLUMNS}
        if derived:
            skip.add(derived.column)
        return cls(
            table=model._meta.db_table,
            pk_column=pk,
            columns=columns,
            key_columns=key_columns,
            content_columns=tuple(c for c in columns if c not in skip),
            sync_time_column=sync_time,
            derived=derived,
            json_columns=frozenset(
                f.column for f in concrete if f.get_internal_type() == "JSONField"
            ),
        )

    @property
    def fixed_key_columns(self) -> tuple[str, ...]:
        """Key columns stored as they are (all but the derived one)."""
        derived = self.derived.column if self.derived else None
        return tuple(c for c in self.key_columns if c != derived)

    def derive_key(self, values: Sequence[Any]) -> str:
        """Apply the derived-key rule to one tuple of raw source values."""
        assert self.derived is not None
        decoded = [
            json.loads(v) if name in self.json_columns and isinstance(v, str) else v
            for name, v in zip(self.derived.sources, values, strict=True)
        ]
        return self.derived.rule(*decoded)
