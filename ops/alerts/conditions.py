"""What a check finds: one condition per thing wrong, named by a stable key."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Condition:
    """One thing wrong now; `key` stays the same while it lasts (e.g. "sync_stale:sim1:tasks")."""

    key: str
    kind: str
    message: str
    region_code: str = ""
    entity: str = ""
    table_name: str = ""
