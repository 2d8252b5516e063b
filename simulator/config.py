"""Simulator settings: size and seed of the data, data quirks, and live-editable faults."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simulator.world import MAX_COMPANIES


@dataclass
class Quirks:
    """Share of eligible records that carry each data quirk (0..1).

    At generation every quirk with a non-zero rate is applied to round(rate x n) of its n
    eligible records, and to at least one per company, so each appears even at scale 0.01.
    Records created later by tick() get each quirk independently with probability `rate`.
    """

    null_child_id_rate: float = 0.05  # supplies[].id / costs[].id is null
    requirement_without_id_rate: float = 0.05  # a task's requirements carry no `id` key
    duplicate_child_rate: float = 0.03  # one child listed twice in a payload (serving glitch)
    long_text_rate: float = 0.03  # texts of 256..600 characters
    big_money_rate: float = 0.02  # amounts of 10^8 or more
    null_nested_rate: float = 0.05  # a nested object is null (property notes: {})
    coordinate_string_rate: float = 0.1  # latitude/longitude sent as strings
    coordinate_null_rate: float = 0.1  # latitude/longitude null
    empty_string_rate: float = 0.1  # "" for reference ids and `display`
    guest_no_email_rate: float = 0.2  # a guest with a name but no emails
    guest_empty_name_rate: float = 0.05  # a guest with "" first and last name
    null_record_id_rate: float = 0.01  # extra invalid records with id null (listings only)


@dataclass
class Faults:
    """Injected failures and token settings; edit the live object (sim.faults) at any time.

    Times are real seconds. Faults apply to data endpoints only, never to /_sim/.
    """

    latency: float = 0.0  # added to every data request
    error_rate: float = 0.0  # share of data requests answered 500/502/503
    rate_limit_rate: float = 0.0  # share of data requests starting a burst of 429s
    rate_limit_burst: int = 2  # consecutive 429s per burst (the triggering request included)
    rate_limit_retry_after: int = 1  # Retry-After of those 429s
    # The vendor's limit: data requests per second per credential (a token bucket holding one
    # second's worth); above it, 429 with Retry-After in whole seconds. 0: no limit.
    rate_limit_per_second: float = 0.0
    timeout_rate: float = 0.0  # share of data requests delayed by timeout_delay
    timeout_delay: float = 5.0
    page_shift_rate: float = 0.0  # share of page>=2 requests preceded by a new head record
    # {"path", "page"?, "status"?, "body"?}: answer `status` (500), or serve `body` verbatim
    # (with status 200 unless given: a page the client cannot parse)
    fail_paths: list[dict[str, Any]] = field(default_factory=list)
    token_ttl: float = 86400.0  # access token lifetime
    refresh_ttl: float = 30 * 86400.0  # refresh token lifetime
    auth_min_interval: float = 60.0  # per credential and auth endpoint

    def update(self, changes: dict[str, Any]) -> None:
        """Merge `changes` into the fields, converting to each field's type; ValueError if bad."""
        known = {f.name: f for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - set(known))
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(unknown)}")
        converted: dict[str, Any] = {}
        for name, value in changes.items():
            if name == "fail_paths":
                converted[name] = _fail_paths(value)
                continue
            kind = int if name in ("rate_limit_burst", "rate_limit_retry_after") else float
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise ValueError(f"{name}: expected a number")
            try:
                number = kind(value)
            except ValueError:
                raise ValueError(f"{name}: expected a number") from None
            if number < 0 or (name.endswith("_rate") and number > 1):
                raise ValueError(f"{name}: out of range")
            converted[name] = number
        # Validate everything before changing anything, so a bad request leaves no trace.
        for name, value in converted.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _fail_paths(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ValueError("fail_paths: expected a list")
    rules = []
    for rule in value:
        if not isinstance(rule, dict) or not isinstance(rule.get("path"), str):
            raise ValueError("fail_paths: each rule needs a string `path`")
        body = rule.get("body")
        if body is not None and not isinstance(body, str):
            raise ValueError("fail_paths: `body` must be a string")
        page, status = rule.get("page"), rule.get("status", 500 if body is None else 200)
        if page is not None and (not isinstance(page, int) or page < 1):
            raise ValueError("fail_paths: `page` must be a positive integer")
        if not isinstance(status, int) or not (400 <= status <= 599 or body is not None):
            raise ValueError("fail_paths: `status` must be an HTTP error status")
        rules.append({"path": rule["path"], "page": page, "status": status, "body": body})
    return rules


@dataclass
class SimulatorConfig:
    """What to generate. Data is fully determined by (seed, scale, companies, start)."""

    seed: int = 1
    scale: float = 0.01  # 1.0: 2,000 properties and 20,000 tasks per company
    companies: int = 2
    start: datetime | None = None  # None: now (UTC) truncated to the hour
    change_rate: float = 0.02  # share of records of each kind changed per simulated hour
    hidden_task_share_per_tick: float = 0.002  # share of finished tasks hidden per hour
    bad_property_rate: float = 0.01  # properties whose task list answers 422
    quirks: Quirks = field(default_factory=Quirks)
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        if self.scale <= 0:
            raise ValueError("scale must be positive")
        if not 1 <= self.companies <= MAX_COMPANIES:
            # Company id blocks of 10^8 keep every id below 2^31 up to 20 companies, blocks
            # of 10^7 up to MAX_COMPANIES (simulator.world).
            raise ValueError(f"companies must be between 1 and {MAX_COMPANIES}")
        for name in ("change_rate", "hidden_task_share_per_tick", "bad_property_rate"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.start is not None:
            if self.start.tzinfo is None:
                raise ValueError("start must be an aware datetime")
            self.start = self.start.astimezone(UTC)

    def resolved_start(self) -> datetime:
        if self.start is not None:
            return self.start
        return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
