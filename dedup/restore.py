"""Put archived rows back into their tables (after reversing the remediation, or in place of
the kept row with `replace`), so a copy the remediation archived is never out of reach."""

import datetime
import decimal
import uuid
from dataclasses import dataclass

from django.apps import apps
from django.db import connections, models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from breezeway.keys import natural_key_constraint
from breezeway.locks import REMEDIATION_LOCK
from dedup.models import ArchivedRow
from dedup.scan import constraint_state


class RestoreError(RuntimeError):
    """An archived row cannot be restored as asked; nothing was changed."""


@dataclass
class RestoreResult:
    inserted: int = 0
    replaced: int = 0


def model_for_table(table: str) -> type[models.Model]:
    for model in apps.get_models():
        if model._meta.db_table == table:
            return model
    raise RestoreError(f"no model has table {table!r}")


def row_to_instance(model: type[models.Model], row: dict) -> models.Model:
    """The archived JSON (column -> value) as an unsaved model instance."""
    values = {}
    for field in model._meta.concrete_fields:
        if field.column in row:
            raw = row[field.column]
            values[field.attname] = (
                raw if isinstance(field, models.JSONField) else field.to_python(raw)
            )
    return model(**values)


def restore_rows(
    archived: list[ArchivedRow], *, replace: bool = False, using: str = "default"
) -> RestoreResult:
    """Restore archived rows in one transaction.

    Without `replace` a row goes back with its original id (a new one if that id is taken),
    which is only possible while the table has no natural-key constraint (after
    `migrate breezeway 0002`). With `replace` its
    content overwrites the kept row of its natural key, and the content it overwrites is
    archived in turn, so nothing is lost either way.
    """
    result = RestoreResult()
    connection = connections[using]
    with transaction.atomic(using=using):
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", [REMEDIATION_LOCK])
        run_id = uuid.uuid4()
        for entry in archived:
            if entry.restored_at is not None:
                raise RestoreError(f"archived row {entry.pk} was already restored")
            model = model_for_table(entry.table_name)
            # After `migrate breezeway 0002` the columns later migrations add are gone.
            fields = present_fields(connection, model)
            constraint = natural_key_constraint(model)
            present, _ = constraint_state(connection, entry.table_name, constraint.name)
            # Derived key columns were not filled in losing copies; the archive's natural key
            # holds their value.
            restored = row_to_instance(model, {**entry.row_data, **entry.natural_key})
            manager = model._base_manager.using(using)
            if replace:
                kept = (
                    manager.filter(pk=entry.kept_row_id).only(*(f.attname for f in fields)).first()
                )
                if kept is None:
                    raise RestoreError(
                        f"archived row {entry.pk}: kept row {entry.table_name} "
                        f"#{entry.kept_row_id} no longer exists; restore it without --replace"
                    )
                ArchivedRow.objects.using(using).create(
                    run_id=run_id,
                    table_name=entry.table_name,
                    natural_key=entry.natural_key,
                    row_data=_row_json(kept, fields),
                    kept_row_id=kept.pk,
                    copies=1,
                    archived_at=timezone.now(),
                )
                restored.pk = kept.pk
                restored.save(
                    using=using, update_fields=[f.attname for f in fields if not f.primary_key]
                )
                result.replaced += 1
            else:
                if present:
                    raise RestoreError(
                        f"archived row {entry.pk}: {entry.table_name} has its natural-key "
                        f"constraint {constraint.name}, so the row cannot go back beside kept "
                        f"row #{entry.kept_row_id}. Use --replace to swap them, or reverse the "
                        "remediation first (migrate breezeway 0002)."
                    )
                if manager.filter(pk=restored.pk).exists():
                    # Its id went to the row it was swapped with (--replace): a new id will do.
                    restored.pk = None
                insert_row(connection, restored, fields)
                result.inserted += 1
            entry.restored_at = timezone.now()
            entry.save(using=using, update_fields=["restored_at"])
    return result


def present_fields(connection: BaseDatabaseWrapper, model: type[models.Model]) -> list:
    """The model's concrete fields whose columns the table has now."""
    with connection.cursor() as cur:
        table = connection.introspection.get_table_description(cur, model._meta.db_table)
    columns = {column.name for column in table}
    return [f for f in model._meta.concrete_fields if f.column in columns]


def insert_row(connection: BaseDatabaseWrapper, instance: models.Model, fields: list) -> None:
    """INSERT the instance's values for these fields only (the id too, when it has one)."""
    fields = [f for f in fields if not (f.primary_key and instance.pk is None)]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(instance._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    values = [f.get_db_prep_save(getattr(instance, f.attname), connection) for f in fields]
    with connection.cursor() as cur:
        cur.execute(sql, values)


def _row_json(instance: models.Model, fields: list) -> dict:
    """The row as archived JSON: ISO dates and times (full precision), decimals as strings."""
    data = {}
    for field in fields:
        value = getattr(instance, field.attname)
        if isinstance(value, datetime.date | datetime.time):
            value = value.isoformat()
        elif isinstance(value, decimal.Decimal | uuid.UUID):
            value = str(value)
        data[field.column] = value
    return data
