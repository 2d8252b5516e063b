"""`manage.py dedup_restore`: list archived rows, or put them back into their tables."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from dedup.models import ArchivedRow
from dedup.restore import RestoreError, restore_rows
from dedup.scan import TableMissing, require_table


class Command(BaseCommand):
    help = (
        "List the rows the remediation archived (copies that differed from the kept row), or "
        "restore them: with their original ids after reversing the remediation "
        "(migrate breezeway 0002), or with --replace in place of the kept row."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("ids", nargs="*", type=int, help="Archived row ids to restore.")
        parser.add_argument("--list", action="store_true", help="List archived rows.")
        parser.add_argument("--table", help="Only rows of this table.")
        parser.add_argument(
            "--all", action="store_true", help="Restore every archived row (of --table)."
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Overwrite the kept row with the archived content (the overwritten content "
            "is archived in turn).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            require_table(connection, ArchivedRow._meta.db_table)
        except TableMissing as exc:
            raise CommandError(str(exc)) from exc
        pending = ArchivedRow.objects.filter(restored_at__isnull=True).order_by("id")
        if options["table"]:
            pending = pending.filter(table_name=options["table"])
        if options["list"] or not (options["ids"] or options["all"]):
            self.list_rows(pending)
            return
        if options["ids"] and options["all"]:
            raise CommandError("give archived row ids or --all, not both")
        if options["ids"]:
            chosen = list(ArchivedRow.objects.filter(pk__in=options["ids"]).order_by("id"))
            missing = sorted(set(options["ids"]) - {a.pk for a in chosen})
            if missing:
                raise CommandError(f"no archived row with id {', '.join(map(str, missing))}")
        else:
            chosen = list(pending)
        try:
            result = restore_rows(chosen, replace=options["replace"])
        except RestoreError as exc:
            raise CommandError(f"{exc} (nothing was restored)") from exc
        self.stdout.write(
            f"Restored {result.inserted} row(s) with their ids, replaced {result.replaced} "
            "kept row(s)."
        )

    def list_rows(self, rows: Any) -> None:
        count = 0
        for row in rows:
            count += 1
            self.stdout.write(
                f"#{row.pk}  {row.table_name}  key={row.natural_key}  kept row "
                f"#{row.kept_row_id}  copies={row.copies}  "
                f"archived {row.archived_at:%Y-%m-%d %H:%M}"
            )
        self.stdout.write(f"{count} archived row(s) not restored.")
