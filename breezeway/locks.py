"""PostgreSQL advisory-lock keys shared by the remediation and every sync.

The remediation holds REMEDIATION_LOCK exclusively for its whole transaction; each sync takes
it shared (without waiting), so no sync writes while duplicates are being removed. Per
(region, entity) a sync holds two keys: the run key (one run of the pair at a time, taken
without waiting) and the data key, exclusively for the entity it writes and shared for the
entities it reads, so nothing loads while what it points at is being written. A webhook
event holds its record's key for its transaction, so two events of one record apply in turn.
"""

import zlib

# A fixed 64-bit key; the value only has to be unique within this database.
REMEDIATION_LOCK = 0x42_5A_57_59_0001  # "BZWY" + 1
# Held by a duplicate scan (the admin's "Scan now", the snapshot task), so that two never run
# at once: each reads every child table.
SCAN_LOCK = 0x42_5A_57_59_0002


def sync_lock_key(region_code: str, entity: str) -> int:
    """The advisory-lock key of one (region, entity) sync: stable across processes."""
    return (0x42_5A_57_59 << 32) | zlib.crc32(f"{region_code}\x1f{entity}".encode())


def sync_data_key(region_code: str, entity: str) -> int:
    """The advisory-lock key of one (region, entity)'s rows: writers exclusive, readers shared."""
    return (0x42_5A_57_5A << 32) | zlib.crc32(f"{region_code}\x1f{entity}\x1fdata".encode())


def record_lock_key(region_code: str, entity: str, breezeway_id: str) -> int:
    """The advisory-lock key of one record, held while a webhook event applies to it."""
    return (0x42_5A_57_5B << 32) | zlib.crc32(
        f"{region_code}\x1f{entity}\x1f{breezeway_id}".encode()
    )
