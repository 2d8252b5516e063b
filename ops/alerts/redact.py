"""Keeps secrets out of alert texts, which leave the system by e-mail and chat."""

import os
import re

from django.conf import settings

from breezeway.security import mask_url_passwords

# Values of variables with these words in their names are secrets wherever they turn up.
SECRET_NAME = re.compile(
    r"SECRET|PASSWORD|TOKEN|CLIENT_ID|^DATABASE_URL$|BROKER_URL$|^EMAIL_URL$|WEBHOOK_URL$"
)
# Shorter values (a "1", "true") would blank out innocent words.
SHORTEST_SECRET = 6


def secret_values() -> list[str]:
    """Every secret this process knows: credentials, passwords, URLs that may embed them."""
    values = [v for k, v in os.environ.items() if SECRET_NAME.search(k)]
    values += [
        settings.SECRET_KEY,
        getattr(settings, "EMAIL_HOST_PASSWORD", "") or "",
        settings.ALERT_WEBHOOK_URL,
    ]
    return sorted({v for v in values if len(v) >= SHORTEST_SECRET}, key=len, reverse=True)


def redacted(text: str) -> str:
    """The text with every known secret replaced by ***; URLs lose their user:password@."""
    for value in secret_values():
        text = text.replace(value, "***")
    return mask_url_passwords(text, "***")
