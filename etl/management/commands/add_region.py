"""`manage.py add_region`: register a Breezeway company (region) to sync."""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from breezeway.models import Region
from breezeway.models.regions import validate_region_code
from etl.credentials import region_readiness


class Command(BaseCommand):
    help = (
        "Create (or with --update, change) a region: one Breezeway company. Its credentials "
        "are read from BREEZEWAY_<CODE>_CLIENT_ID and BREEZEWAY_<CODE>_CLIENT_SECRET."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "code", help="short lower-case code, e.g. us-east (at most 32 characters)"
        )
        parser.add_argument("--name", required=True, help="display name")
        parser.add_argument("--company-id", required=True, type=int, help="Breezeway company id")
        parser.add_argument("--inactive", action="store_true", help="create it switched off")
        parser.add_argument("--update", action="store_true", help="change an existing region")

    def handle(self, *args: Any, **options: Any) -> None:
        code = options["code"]
        exists = Region.objects.filter(code=code).exists()
        if not exists:
            # The model's validator, as in the admin; an existing (legacy) code is kept as is.
            try:
                validate_region_code(code)
            except ValidationError as error:
                raise CommandError(" ".join(error.messages)) from None
        if options["company_id"] <= 0:
            raise CommandError("--company-id must be a positive Breezeway company id.")
        if len(options["name"]) > 128 or not options["name"].strip():
            raise CommandError("--name must be 1 to 128 characters.")
        if exists and not options["update"]:
            raise CommandError(f"Region {code} exists already; add --update to change it.")
        if not exists and options["update"]:
            raise CommandError(f"Region {code} does not exist; drop --update to create it.")
        region, _ = Region.objects.update_or_create(
            code=code,
            defaults={
                "name": options["name"].strip(),
                "company_id": options["company_id"],
                "is_active": not options["inactive"],
            },
        )
        self.stdout.write(f"Region {code} {'updated' if exists else 'created'}.")
        (readiness,) = region_readiness([region])
        id_var, secret_var = readiness.variables
        if readiness.ready:
            self.stdout.write(f"Credentials found in {id_var} and {secret_var}.")
        else:
            self.stdout.write(f"Set {id_var} and {secret_var} in the environment to sync it.")
