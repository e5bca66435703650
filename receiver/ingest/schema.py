"""The payload contract (docs/payload.md): msgspec structs for schema 1.0 and 1.1, with hard limits.

Schema 1.1 is a superset of 1.0: every 1.0 field keeps its meaning, new fields are added. `1.0` may also be
written `1.0.x` (the upstream client's tests send "1.0.0"); any 1.x with a higher minor is read as 1.1.
Unknown fields are skipped while decoding and therefore never stored.
"""

import uuid
from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

MAX_ITEMS = 64
MAX_COUNT = 1_000_000
MAX_HOURS = 100_000.0
MAX_FILAMENT_M = 1_000_000.0
TEXT_PATTERN = r"\A[A-Za-z0-9 _.:+/-]*\Z"

Text = Annotated[str, Meta(max_length=64, pattern=TEXT_PATTERN)]
RequiredText = Annotated[str, Meta(min_length=1, max_length=64, pattern=TEXT_PATTERN)]
Key = Annotated[str, Meta(min_length=1, max_length=64, pattern=TEXT_PATTERN)]
Count = Annotated[int, Meta(ge=0, le=MAX_COUNT)]
Hours = Annotated[float, Meta(ge=0, le=MAX_HOURS)]
Metres = Annotated[float, Meta(ge=0, le=MAX_FILAMENT_M)]
WholeHours = Annotated[int, Meta(ge=0, le=int(MAX_HOURS))]
Days = Annotated[int, Meta(ge=0, le=31)]
CountryCode = Annotated[str, Meta(min_length=2, max_length=2, pattern=r"\A[A-Z]{2}\Z")]
Version = Annotated[str, Meta(max_length=16, pattern=r"\A[0-9]{1,3}\.[0-9]{1,3}(\.[0-9]{1,3})?\Z")]
Counts = Annotated[dict[Key, Count], Meta(max_length=MAX_ITEMS)]
Flags = Annotated[dict[Key, bool], Meta(max_length=MAX_ITEMS)]
TextList = Annotated[list[Key], Meta(max_length=MAX_ITEMS)]
ModelCounts = Annotated[dict[Key, Counts], Meta(max_length=MAX_ITEMS)]


class Envelope(Struct):
    """Only the version, to name supported versions when the rest does not decode."""

    schema_version: str


class Installation10(Struct, kw_only=True):
    installation_id: uuid.UUID
    first_seen: datetime | None = None
    app_version: RequiredText
    python_version: Text | None = None
    platform: Text  # empty (the upstream 1.0 client can send "") is stored as "unknown"
    deployment_mode: RequiredText
    country_code: CountryCode


class Period(Struct, kw_only=True):
    start: datetime
    end: datetime
    duration_days: Days


class PrinterFleet10(Struct, kw_only=True):
    printer_count: Count
    printer_types: TextList = msgspec.field(default_factory=list)
    printer_type_counts: Counts = msgspec.field(default_factory=dict)


class UsageStats10(Struct, kw_only=True):
    job_count: Count
    file_count: Count | None = None
    upload_count: Count | None = None
    uptime_hours: WholeHours
    feature_usage: Flags = msgspec.field(default_factory=dict)


class Payload10(Struct, kw_only=True):
    schema_version: Version
    submission_timestamp: datetime | None = None
    installation: Installation10
    period: Period
    printer_fleet: PrinterFleet10
    usage_stats: UsageStats10
    error_summary: Counts = msgspec.field(default_factory=dict)


class Installation11(Installation10, kw_only=True):
    integration_version: Text | UnsetType = UNSET
    ha_version: Text | UnsetType = UNSET
    data_source: Text | UnsetType = UNSET


class PrinterFleet11(PrinterFleet10, kw_only=True):
    printer_model_counts: ModelCounts | UnsetType = UNSET


class UsageStats11(UsageStats10, kw_only=True):
    jobs_started: Count | UnsetType = UNSET
    jobs_completed: Count | UnsetType = UNSET
    jobs_failed: Count | UnsetType = UNSET
    jobs_cancelled: Count | UnsetType = UNSET
    print_hours: Hours | UnsetType = UNSET  # time printing; pauses are paused_hours
    printer_online_hours: Hours | UnsetType = UNSET
    # additive 1.1 fields (docs/payload.md, "Schema 1.1 additions")
    jobs_ended_without_outcome: Count | UnsetType = UNSET
    paused_hours: Hours | UnsetType = UNSET
    filament_m: Metres | UnsetType | None = UNSET
    active_printers: Count | UnsetType = UNSET


class ModelUsage(Struct, kw_only=True):
    """One (family, model) bucket of a week's usage; keys as in printer_fleet.printer_model_counts."""

    family: Key
    model: Key
    printers: Count
    active_printers: Count
    jobs_started: Count
    jobs_completed: Count
    jobs_failed: Count
    jobs_cancelled: Count
    jobs_ended_without_outcome: Count
    print_hours: Hours
    paused_hours: Hours
    filament_m: Metres | None = None


class ModelErrors(Struct, kw_only=True):
    """How often one printer error code occurred on one (family, model) in the week."""

    family: Key
    model: Key
    code: Key
    count: Count


UsageByModel = Annotated[list[ModelUsage], Meta(max_length=MAX_ITEMS)]
ErrorsByModel = Annotated[list[ModelErrors], Meta(max_length=MAX_ITEMS)]


class Payload11(Struct, kw_only=True):
    schema_version: Version
    submission_timestamp: datetime | None = None
    installation: Installation11
    period: Period
    printer_fleet: PrinterFleet11
    usage_stats: UsageStats11
    error_summary: Counts = msgspec.field(default_factory=dict)
    errors_by_code: Counts | UnsetType = UNSET
    usage_by_model: UsageByModel | UnsetType = UNSET
    errors_by_model: ErrorsByModel | UnsetType = UNSET


Payload = Payload10 | Payload11

SUPPORTED_VERSIONS = ("1.0", "1.1")
payload10_decoder = msgspec.json.Decoder(Payload10)
payload11_decoder = msgspec.json.Decoder(Payload11)
envelope_decoder = msgspec.json.Decoder(Envelope)
