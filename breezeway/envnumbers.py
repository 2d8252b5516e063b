"""Numbers read from environment variables: finite ones, or an error naming the variable."""

import math

from django.core.exceptions import ImproperlyConfigured


def finite_float(name: str, raw: str) -> float:
    """`raw` (the value of variable `name`) as a finite float, else ImproperlyConfigured."""
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number.")
    return value
