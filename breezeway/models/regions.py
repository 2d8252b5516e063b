"""Regions: one Breezeway company each, the scope of every natural key."""

import re

from django.core.exceptions import ValidationError
from django.db import models

from breezeway.models.bases import DbNow

REGION_CODE = re.compile(r"[a-z0-9][a-z0-9_.-]{0,31}")


def credentials_name(code: str) -> str:
    """The CODE part of a region's credential variables (BREEZEWAY_<CODE>_CLIENT_ID): upper
    case, every character but a letter or digit replaced by '_' (what etl.credentials reads)."""
    return re.sub(r"[^A-Z0-9]", "_", code.upper())


def validate_region_code(code: str) -> None:
    """A new region's code: 1 to 32 lower-case letters, digits, '_', '.' or '-', starting with
    a letter or digit, and reading no other region's credentials.

    Credentials are looked up by the upper-cased code, so "SIM1" would read sim1's, and
    "us-east" and "us_east" each other's: such a code is refused, naming the region it
    collides with.
    """
    if not REGION_CODE.fullmatch(code):
        hint = f" (lower case: {code.lower()!r})" if REGION_CODE.fullmatch(code.lower()) else ""
        raise ValidationError(
            "Region code %(code)r is not valid%(hint)s: 1 to 32 lower-case letters, digits, "
            "'_', '.' or '-', starting with a letter or digit.",
            code="invalid",
            params={"code": code, "hint": hint},
        )
    name = credentials_name(code)
    # Regions are a handful of rows; the rule is Python's, so compare in Python.
    for other in Region.objects.exclude(code=code).values_list("code", flat=True):
        if credentials_name(other) == name:
            raise ValidationError(
                "Region code %(code)r would read the credentials of region %(other)r "
                "(BREEZEWAY_%(name)s_CLIENT_ID): choose another code.",
                code="credentials_clash",
                params={"code": code, "other": other, "name": name},
            )


class Region(models.Model):
    code = models.CharField(
        primary_key=True,
        max_length=32,
        db_column="region_code",
        validators=[validate_region_code],
    )
    name = models.CharField(max_length=128, db_column="region_name")
    company_id = models.IntegerField()
    is_active = models.BooleanField(db_default=True)
    created_at = models.DateTimeField(db_default=DbNow())
    updated_at = models.DateTimeField(db_default=DbNow())

    class Meta:
        db_table = "regions"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.name})"
