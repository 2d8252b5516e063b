"""A region's API credentials and their request rate: read from the environment, never shown.

This module is the only reader of the credential variables: which regions can sync, and
what each of the others is missing, is `region_readiness()` (or `syncable_regions()`).
"""

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ImproperlyConfigured

from breezeway.envnumbers import finite_float
from breezeway.models import Region
from breezeway.models.regions import credentials_name


class CredentialsMissing(LookupError):
    """A region has no (or only half of its) credentials in the environment."""


def credential_variables(region_code: str) -> tuple[str, str]:
    """The names of a region's two variables: BREEZEWAY_<CODE>_CLIENT_ID and _CLIENT_SECRET.

    CODE is the region code upper-cased, with every character other than a letter or a digit
    replaced by '_' (region "us-east.1" reads BREEZEWAY_US_EAST_1_CLIENT_ID).
    """
    code = credentials_name(region_code)
    return f"BREEZEWAY_{code}_CLIENT_ID", f"BREEZEWAY_{code}_CLIENT_SECRET"


def webhook_secret_variable(region_code: str) -> str:
    """The name of the region's webhook secret: BREEZEWAY_<CODE>_WEBHOOK_SECRET (same CODE)."""
    return f"BREEZEWAY_{credentials_name(region_code)}_WEBHOOK_SECRET"


def webhook_secret(region_code: str, environ: Mapping[str, str] | None = None) -> str:
    """The region's webhook secret, stripped; '' when unset (every event is then refused)."""
    return _variable(webhook_secret_variable(region_code), environ)


def rate_limit_variable(region_code: str) -> str:
    """The name of the region's own rate limit: BREEZEWAY_<CODE>_RATE_LIMIT (same CODE)."""
    return f"BREEZEWAY_{credentials_name(region_code)}_RATE_LIMIT"


def rate_limit(region_code: str, default: float, environ: Mapping[str, str] | None = None) -> float:
    """Requests per second the region's credential may send (0: no limit): its own variable
    when set, else `default` (SYNC_RATE_LIMIT). ImproperlyConfigured names a bad value."""
    name = rate_limit_variable(region_code)
    raw = _variable(name, environ)
    if not raw:
        return default
    problem = f"{name}={raw!r}: give requests per second, a number of 0 (no limit) or more."
    try:
        value = finite_float(name, raw)
    except ImproperlyConfigured:
        raise ImproperlyConfigured(problem) from None
    if value < 0:
        raise ImproperlyConfigured(problem)
    return value


def _variable(name: str, environ: Mapping[str, str] | None) -> str:
    """A variable of the environment (os.environ unless given), stripped; '' when unset."""
    return (os.environ if environ is None else environ).get(name, "").strip()


def _read(region_code: str, environ: Mapping[str, str] | None) -> dict[str, str]:
    """The region's two variables, by name, stripped ('' when unset)."""
    return {name: _variable(name, environ) for name in credential_variables(region_code)}


def _missing(values: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(name for name, value in values.items() if not value)


@dataclass(frozen=True)
class Credentials:
    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)

    def __repr__(self) -> str:
        return "Credentials(client_id=***, client_secret=***)"

    __str__ = __repr__


def credentials_for(region_code: str, environ: Mapping[str, str] | None = None) -> Credentials:
    """The region's credentials, or CredentialsMissing naming the variables to set."""
    values = _read(region_code, environ)
    missing = _missing(values)
    if missing:
        raise CredentialsMissing(
            f"region {region_code!r} has no API credentials: set {' and '.join(missing)}."
        )
    id_var, secret_var = credential_variables(region_code)
    return Credentials(values[id_var], values[secret_var])


@dataclass(frozen=True)
class RegionReadiness:
    """Whether a region can sync: `missing` names its unset credential variables (names,
    never values), empty when both are set."""

    region: Region
    missing: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.missing

    @property
    def variables(self) -> tuple[str, str]:
        """Both of the region's variable names, set or not."""
        return credential_variables(self.region.code)


def region_readiness(
    regions: Iterable[Region] | None = None, environ: Mapping[str, str] | None = None
) -> list[RegionReadiness]:
    """For each region (by default every active one), in order, whether it can sync and what
    it is missing. `environ` defaults to the process environment."""
    if regions is None:
        regions = Region.objects.filter(is_active=True)
    return [RegionReadiness(r, _missing(_read(r.code, environ))) for r in regions]


def syncable_regions(environ: Mapping[str, str] | None = None) -> list[Region]:
    """Active regions whose credentials are in the environment."""
    return [r.region for r in region_readiness(environ=environ) if r.ready]
