"""A region's API credentials: read from the environment, never shown in clear."""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class Credentials:
    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)

    def __repr__(self) -> str:
        return "Credentials(client_id=***, client_secret=***)"

    __str__ = __repr__


def credentials_for(region_code: str, environ: Mapping[str, str] | None = None) -> Credentials:
    """The region's credentials, or CredentialsMissing naming the variables to set."""
    environ = os.environ if environ is None else environ
    id_var, secret_var = credential_variables(region_code)
    client_id = environ.get(id_var, "").strip()
    client_secret = environ.get(secret_var, "").strip()
    if not client_id or not client_secret:
        pairs = ((id_var, client_id), (secret_var, client_secret))
        missing = [name for name, value in pairs if not value]
        raise CredentialsMissing(
            f"region {region_code!r} has no API credentials: set {' and '.join(missing)}."
        )
    return Credentials(client_id, client_secret)


def has_credentials(region_code: str, environ: Mapping[str, str] | None = None) -> bool:
    try:
        credentials_for(region_code, environ)
    except CredentialsMissing:
        return False
    return True
