"""`manage.py make_legacy_db`: fill a database with the incident's duplicates, scaled."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from legacy_fixture.generate import generate_legacy_data
from legacy_fixture.plan import validate_arguments
from legacy_fixture.state import LegacyDatabaseError


class Command(BaseCommand):
    help = (
        "Fill the legacy breezeway tables with generated data duplicated the way the old loader "
        "duplicated it (the incident report's figures times --scale). Migrates breezeway to 0001 "
        "first on an empty database; refuses a remediated database, and a filled one unless "
        "--replace is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--scale",
            required=True,
            help="share of the incident's row counts, > 0 and <= 5 (0.05 is about 1.9 M rows)",
        )
        parser.add_argument("--seed", default="1", help="random seed (same seed, same data)")
        parser.add_argument("--regions", default="3", help="number of regions (default 3)")
        parser.add_argument(
            "--replace",
            action="store_true",
            help="empty the legacy tables first (on PostgreSQL, also the tables referencing them)",
        )
        parser.add_argument("--database", default="default", help="database alias")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            scale, seed, regions = validate_arguments(
                options["scale"], options["seed"], options["regions"]
            )
        except ValueError as exc:
            raise CommandError(f"make_legacy_db: {exc}.") from None
        try:
            summary = generate_legacy_data(
                scale, seed=seed, regions=regions, using=options["database"],
                replace=options["replace"],
            )  # fmt: skip
        except LegacyDatabaseError as exc:
            raise CommandError(f"make_legacy_db refused: {exc}") from None
        if summary.migrated:
            self.stdout.write("Applied breezeway 0001 (the legacy schema) first.")
        for line in summary.lines():
            self.stdout.write(line)
