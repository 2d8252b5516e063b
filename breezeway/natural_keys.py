"""The rules that derive a non-null natural key where the API sends no usable id.

Each rule is one pure function, used by the sync's loader on API records and by the
remediation on legacy columns (applied to the distinct raw values, then joined back in SQL),
so the two can never disagree. The rules are stable: changing one changes every stored key,
so a change needs a data migration of its own.

Normalisation of free text (`normalize_text`): Unicode NFC, surrounding whitespace trimmed,
inner runs of whitespace collapsed to one space, lower-cased. An id is only trimmed.
A key longer than KEY_MAX_LENGTH characters is replaced by "sha256:" and the hex digest of it.
"""

import hashlib
import json
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

KEY_MAX_LENGTH = 255
PHOTO_KEY_MAX_LENGTH = 64  # photo_id is a legacy VARCHAR(64)


def normalize_text(value: Any) -> str:
    """Lower-cased, trimmed, NFC, inner whitespace collapsed; '' for None."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    # NFC again after lower(): lower-casing can leave a decomposable sequence (e.g. Greek
    # capitals with combining accents), and both spellings must give one key.
    return unicodedata.normalize("NFC", " ".join(text.split()).lower())


def normalize_id(value: Any) -> str:
    """An API id as stored text: str() of it, trimmed; '' for None."""
    if value is None:
        return ""
    return str(value).strip()


def _bounded(key: str) -> str:
    if len(key) <= KEY_MAX_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()


def guest_key(email: Any, name: Any) -> str:
    """Guest key: the email normalised, else the full name normalised, else ''."""
    return _bounded(normalize_text(email) or normalize_text(name))


def first_present(values: Any) -> Any:
    """The first element of a list that is not empty after trimming, else None."""
    for value in values or ():
        if value is not None and str(value).strip():
            return value
    return None


def assignee_key(assignee_id: Any, assignee_name: Any) -> str:
    """Assignee key: the assignee id, else the name normalised, else ''."""
    return _bounded(normalize_id(assignee_id) or normalize_text(assignee_name))


def item_key(item_id: Any, identity: list[Any], occurrence: int = 0) -> str:
    """Key of a child item the API may send without an id: the id, else 'h:<digest>:<n>'.

    The digest is the first 32 hex characters of SHA-256 over the canonical JSON (sorted keys,
    no spaces, UTF-8) of `identity`, the item's identifying values; n counts earlier items with
    the same digest in the same payload, so two identical lines stay two rows.
    """
    rid = normalize_id(item_id)
    if rid:
        return _bounded(rid)
    canonical = json.dumps(identity, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]
    return f"h:{digest}:{occurrence}"


def requirement_key(
    requirement_id: Any,
    section_name: Any,
    action: Any,
    home_element_name: Any,
    occurrence: int = 0,
) -> str:
    """Requirement key: item_key over [section_name, action, home_element_name].

    Legacy rows cannot tell a second identical line from a duplicate copy, so they use n = 0.
    """
    return item_key(requirement_id, [section_name, action, home_element_name], occurrence)


def usage_key(usage_id: Any, supply_id: Any, name: Any, occurrence: int = 0) -> str:
    """Task supply key (the API sends null usage ids): item_key over [supply_id, name]."""
    return item_key(usage_id, [normalize_id(supply_id), name], occurrence)


def cost_key(
    cost_id: Any, created_at: Any, type_code: Any, description: Any, occurrence: int = 0
) -> str:
    """Task cost key (ids are sometimes null): item_key over [created_at, type code, text]."""
    return item_key(cost_id, [created_at, type_code, description], occurrence)


def legacy_requirement_key(
    requirement_id: Any, section_name: Any, action: Any, home_element_name: Any
) -> str:
    """requirement_key() for a legacy row (occurrence 0)."""
    return requirement_key(requirement_id, section_name, action, home_element_name, 0)


def photo_key(photo_id: Any, url: Any) -> str:
    """Photo key: the photo id, else 'url:' + 40 hex of SHA-256 of the trimmed URL, else ''."""
    pid = normalize_id(photo_id)
    if pid:
        if len(pid) > PHOTO_KEY_MAX_LENGTH:
            return "sha256:" + hashlib.sha256(pid.encode("utf-8")).hexdigest()[:56]
        return pid
    link = normalize_id(url)
    if link:
        return "url:" + hashlib.sha256(link.encode("utf-8")).hexdigest()[:40]
    return ""


@dataclass(frozen=True)
class DerivedKey:
    """A key column filled by `rule` from the values of `sources` (in argument order).

    By convention sources[0] is the record's own id-like value, and when it holds any
    non-whitespace character the rule ignores the other sources.
    """

    column: str
    sources: tuple[str, ...]
    rule: Callable[..., str]

    def deconstruct(self) -> tuple[str, list, dict]:
        return (
            "breezeway.natural_keys.DerivedKey",
            [self.column, self.sources, self.rule],
            {},
        )


# How each legacy child table's key column is derived from the columns the old loader wrote.
LEGACY_DERIVED_KEYS: dict[str, DerivedKey] = {
    "property_photos": DerivedKey("photo_key", ("photo_id", "url"), photo_key),
    "task_photos": DerivedKey("photo_key", ("photo_id", "url"), photo_key),
    "reservation_guests": DerivedKey("guest_key", ("guest_email", "guest_name"), guest_key),
    "task_assignments": DerivedKey("assignee_key", ("assignee_id", "assignee_name"), assignee_key),
    "task_requirements": DerivedKey(
        "requirement_key",
        ("requirement_id", "section_name", "action", "home_element_name"),
        legacy_requirement_key,
    ),
}
