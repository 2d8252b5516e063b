"""Table conditions from the stored duplicate statistics: duplicates, key index, lost rows."""

from django.conf import settings
from django.db.models import F, Window
from django.db.models.functions import RowNumber

from breezeway.admin.display import datetime_text
from dedup.models import DuplicateSnapshot
from ops.alerts.conditions import Condition
from ops.models import Alert


def latest_snapshots(per_table: int) -> dict[str, list[DuplicateSnapshot]]:
    """Per table, its `per_table` latest snapshots, newest first."""
    snapshots = (
        DuplicateSnapshot.objects.annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("table_name")],
                order_by=[F("measured_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=per_table)
        .order_by("table_name", "rank")
    )
    tables: dict[str, list[DuplicateSnapshot]] = {}
    for snapshot in snapshots:
        tables.setdefault(snapshot.table_name, []).append(snapshot)
    return tables


def unclean_tables() -> list[Condition]:
    """Tables whose latest snapshot shows duplicates, or no valid natural-key index."""
    conditions = []
    for table, (latest, *_) in latest_snapshots(1).items():
        measured = datetime_text(latest.measured_at)
        if latest.duplicates > 0:
            conditions.append(
                Condition(
                    key=f"duplicates:{table}",
                    kind=Alert.Kind.DUPLICATES,
                    table_name=table,
                    message=(
                        f"{table}: {latest.duplicates} duplicate rows ({latest.rows} rows, "
                        f"{latest.distinct_keys} natural keys; measured {measured})"
                    ),
                )
            )
        if not (latest.constraint_present and latest.constraint_valid):
            state = "is invalid" if latest.constraint_present else "is missing"
            conditions.append(
                Condition(
                    key=f"natural_key_index:{table}",
                    kind=Alert.Kind.NATURAL_KEY_INDEX,
                    table_name=table,
                    message=(
                        f"{table}: the natural-key constraint {latest.constraint_name} "
                        f"{state} (measured {measured})"
                    ),
                )
            )
    return conditions


def shrunk_tables() -> list[Condition]:
    """Tables whose distinct natural keys fell by more than ALERT_ROW_DROP_FRACTION between
    their two latest snapshots.

    Distinct keys, not rows: the remediation removes every duplicate row (38 M rows became
    116 K in the incident) but no natural key, so only a loss of real records counts.
    """
    fraction = settings.ALERT_ROW_DROP_FRACTION
    conditions = []
    for table, snapshots in latest_snapshots(2).items():
        if len(snapshots) < 2:
            continue
        latest, previous = snapshots
        before, after = previous.distinct_keys, latest.distinct_keys
        if before == 0 or (before - after) / before <= fraction:
            continue
        conditions.append(
            Condition(
                key=f"row_drop:{table}",
                kind=Alert.Kind.ROW_DROP,
                table_name=table,
                message=(
                    f"{table}: natural keys fell from {before} to {after} "
                    f"({(before - after) / before:.0%}) between the snapshots of "
                    f"{datetime_text(previous.measured_at)} and "
                    f"{datetime_text(latest.measured_at)} "
                    f"(threshold {fraction:.0%})"
                ),
            )
        )
    return conditions
