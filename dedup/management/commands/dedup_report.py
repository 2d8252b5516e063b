"""`manage.py dedup_report`: duplicate statistics per table, measured live."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from breezeway.keys import constraint_columns, natural_key_constraint
from dedup.figures import human_bytes, totals
from dedup.scan import (
    TableMissing,
    TableStats,
    constraint_state,
    existing_only,
    report_models,
    scan_model,
)
from dedup.snapshots import save_snapshots


class Command(BaseCommand):
    help = (
        "Show, per child table, total rows, distinct natural keys, duplicates, duplicate %, "
        "duplication factor, table size, estimated size without duplicates and whether the "
        "natural-key constraint exists. Works before and after remediation."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print JSON for machines.")
        parser.add_argument(
            "--all", action="store_true", help="Include parent tables (properties, tasks, ...)."
        )
        parser.add_argument(
            "--table",
            action="append",
            default=[],
            metavar="NAME",
            help="Only this table (repeatable).",
        )
        parser.add_argument(
            "--constraints",
            action="store_true",
            help="List every natural-key constraint (table, columns, present, valid) instead.",
        )
        parser.add_argument(
            "--save",
            action="store_true",
            help="Also store the figures as a snapshot (what the admin dashboard shows).",
        )
        parser.add_argument("--database", default="default", help="Database alias.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["database"] not in connections:
            raise CommandError(f"unknown database alias {options['database']!r}")
        if options["constraints"]:
            try:
                self.write_constraints(connections[options["database"]])
            except TableMissing as exc:
                raise CommandError(str(exc)) from exc
            return
        candidates = report_models(include_parents=options["all"] or bool(options["table"]))
        by_table = {m._meta.db_table: m for m in candidates}
        if options["table"]:
            unknown = sorted(set(options["table"]) - set(by_table))
            if unknown:
                raise CommandError(
                    f"unknown table(s) {', '.join(unknown)}; tables with a natural key: "
                    f"{', '.join(sorted(by_table))}"
                )
            candidates = [by_table[t] for t in options["table"]]
        try:
            if not options["table"]:
                candidates = existing_only(connections[options["database"]], candidates)
            stats = [scan_model(m, using=options["database"]) for m in candidates]
        except TableMissing as exc:
            raise CommandError(str(exc)) from exc
        if options["save"]:
            save_snapshots(stats, using=options["database"])
        if options["json"]:
            payload = {"tables": [s.as_dict() for s in stats], "total": totals(stats)}
            self.stdout.write(json.dumps(payload, indent=2))
            return
        self.write_table(stats, connections[options["database"]].vendor)

    def write_table(self, stats: list[TableStats], vendor: str) -> None:
        headers = [
            "table",
            "rows",
            "distinct keys",
            "duplicates",
            "dup %",
            "factor",
            "size",
            "size w/o dups",
            "constraint",
        ]
        lines = []
        for s in stats:
            if s.constraint_present:
                state = "present" if s.constraint_valid else "INVALID"
            else:
                state = "MISSING"
            lines.append(
                [
                    s.table,
                    f"{s.rows:,}",
                    f"{s.distinct_keys:,}",
                    f"{s.duplicates:,}",
                    f"{s.duplicate_pct:.2f}%",
                    f"{s.factor:,.1f}x",
                    human_bytes(s.table_bytes),
                    human_bytes(s.unique_bytes_estimate),
                    f"{state} ({s.constraint})",
                ]
            )
        t = totals(stats)
        lines.append(
            [
                "TOTAL",
                f"{t['rows']:,}",
                f"{t['distinct_keys']:,}",
                f"{t['duplicates']:,}",
                f"{t['duplicate_pct']:.2f}%",
                f"{t['factor']:,.1f}x",
                human_bytes(t["table_bytes"]),
                human_bytes(t["unique_bytes_estimate"]),
                "",
            ]
        )
        widths = [max(len(str(row[i])) for row in [headers, *lines]) for i in range(len(headers))]

        def fmt(row: list[str]) -> str:
            cells = [
                str(v).ljust(widths[i]) if i in (0, len(row) - 1) else str(v).rjust(widths[i])
                for i, v in enumerate(row)
            ]
            return "  ".join(cells).rstrip()

        when = stats[0].measured_at.strftime("%Y-%m-%d %H:%M:%S %Z") if stats else ""
        self.stdout.write(f"Duplicate report ({vendor}), measured {when}")
        self.stdout.write(fmt(headers))
        self.stdout.write("  ".join("-" * w for w in widths))
        for row in lines[:-1]:
            self.stdout.write(fmt(row))
        self.stdout.write("  ".join("-" * w for w in widths))
        self.stdout.write(fmt(lines[-1]))

    def write_constraints(self, connection: Any) -> None:
        rows = []
        for model in existing_only(connection, report_models(include_parents=True)):
            constraint = natural_key_constraint(model)
            table = model._meta.db_table
            present, valid = constraint_state(connection, table, constraint.name)
            state = ("valid" if valid else "INVALID") if present else "MISSING"
            rows.append(
                (table, constraint.name, ", ".join(constraint_columns(model, constraint)), state)
            )
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        for row in rows:
            self.stdout.write("  ".join(v.ljust(widths[i]) for i, v in enumerate(row)).rstrip())
