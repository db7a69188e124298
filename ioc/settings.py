"""One typed settings object, read from `IOC_` environment variables (nested with `__`)."""

from __future__ import annotations

import os
import socket
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from feeds.clock import MAX_SPEED, Clock

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEV_CARD_KEY = "development-only-card-hash-key"
DEV_AUTH_SECRET = "development-only-token-signing-secret"
# The password of the development users (one per role); refused in production.
DEV_PASSWORD = "hanoi-ioc"


class DatabaseSettings(BaseModel):
    """PostgreSQL (TimescaleDB in production); no URL means an embedded server."""

    url: str | None = None
    pool_min: int = 1
    pool_max: int = 8
    timescaledb: Literal["auto", "off"] = "auto"


class RedisSettings(BaseModel):
    """Redis, used as the durable bus (streams) and for live fan-out (pub/sub)."""

    url: str | None = None
    prefix: str = "ioc"


class EmbeddedSettings(BaseModel):
    """Private servers started when no URL is configured."""

    data_dir: Path = PROJECT_ROOT / ".ioc-data"
    pg_port: int = 54329
    redis_port: int = 63790


class SourceSettings(BaseModel):
    """Where one feed's payloads come from."""

    kind: Literal["simulator", "http", "mqtt"] = "simulator"
    url: str | None = None
    topic: str | None = None
    interval_s: float | None = None


class PushKey(BaseModel):
    """An API key allowed to push batches for one feed; only its SHA-256 is configured."""

    feed: str
    sha256: str


def instance_name() -> str:
    """This process among its peers: its host name and pid."""
    return f"{socket.gethostname()}-{os.getpid()}"


class IngestSettings(BaseModel):
    """Batching of the writer, and its part in the writers' consumer group."""

    batch_entries: int = 200
    block_ms: int = 1000
    # Unique by default, so that scaled writers never share one name (and its pending entries).
    consumer: str = Field(default_factory=lambda: f"writer-{instance_name()}")
    # Entries another writer read but left unacknowledged this long are taken over.
    claim_idle_ms: int = Field(60_000, gt=0)


class SituationSettings(BaseModel):
    """The situations engine (run beside the writer): its rules, and how often it ticks."""

    enabled: bool = True
    # None: the city pack's rules.json and procedures.json.
    rules_file: Path | None = None
    procedures_file: Path | None = None
    consumer: str = Field(default_factory=lambda: f"rules-{instance_name()}")
    batch_entries: int = Field(100, gt=0)
    block_ms: int = Field(500, gt=0)
    # Durations, feed lag and escalation every tick_s; stored measures every measure_every_s.
    tick_s: float = Field(5.0, gt=0)
    measure_every_s: float = Field(60.0, gt=0)


class OidcSettings(BaseModel):
    """An external OpenID Connect provider whose access tokens are trusted instead of ours."""

    issuer: str
    audience: str
    jwks_url: str
    # The claim holding the user's roles, and how the provider's role names map to ours.
    roles_claim: str = "roles"
    role_map: dict[str, str] = Field(default_factory=dict)


class AuthSettings(BaseModel):
    """Signing of access and refresh tokens, and the first administrator."""

    secret: str = DEV_AUTH_SECRET
    access_ttl_s: int = Field(900, gt=0)
    refresh_ttl_s: int = Field(12 * 3600, gt=0)
    # Created at start-up when no user exists yet; development falls back to a known password.
    bootstrap_admin: str = "admin"
    bootstrap_password: str | None = None
    oidc: OidcSettings | None = None

    @field_validator("bootstrap_password")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        # An unset variable passed through (as docker compose does) arrives empty.
        return value or None


class SecuritySettings(BaseModel):
    """Browser-facing defences and request limits (see SECURITY.md)."""

    # Origins allowed to call the API from a browser; none by default (same origin only).
    cors_origins: list[str] = Field(default_factory=list)
    # The largest request body of any route but ingest (which has push_max_bytes).
    max_body_bytes: int = Field(1024 * 1024, gt=0)
    # Strict-Transport-Security: None sends it in production only (behind TLS).
    hsts: bool | None = None
    # Requests per minute: logins per client address, pushes per API key and per address.
    login_per_minute: int = Field(30, gt=0)
    ingest_per_minute_per_key: int = Field(600, gt=0)
    ingest_per_minute_per_ip: int = Field(1200, gt=0)
    # A bearer token that lets a Prometheus scraper read /metrics (admins may read it too);
    # empty or unset: admins only.
    metrics_token: str | None = None


# Raw rows per feed: two years of occupancy and queues; card taps, pseudonymous but personal
# data all the same, only 90 days.
DEFAULT_RETENTION_DAYS = {
    "parking": 730, "parking_sessions": 730, "signals": 400, "queues": 730,
    "online_services": 1825, "brt_vehicles": 730, "brt_trips": 400, "brt_taps": 90,
}


class HistorySettings(BaseModel):
    """Roll-ups, retention of raw rows per feed, and the open-data endpoints."""

    # Days raw rows are kept, per feed; a feed left out keeps its default. Roll-ups outlive
    # them (the 1-minute ones for `rollup_1m_days`, coarser ones for good).
    retention_days: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_RETENTION_DAYS))
    rollup_1m_days: int = Field(90, gt=0)
    # How often the maintainer brings table-held roll-ups up to date, and how late a row may
    # arrive and still be counted.
    maintain_interval_s: float = Field(30.0, gt=0)
    lateness_s: float = Field(600.0, ge=0)
    # Open data: requests per client address and minute, and how long answers are cached.
    open_data_per_minute: int = Field(60, gt=0)
    open_data_cache_s: float = Field(60.0, ge=0)
    licence: str = "CC-BY-4.0"
    licence_url: str = "https://creativecommons.org/licenses/by/4.0/"
    attribution: str = "Hanoi Intelligent Operations Centre"

    @model_validator(mode="after")
    def _defaults_for_feeds_left_out(self) -> HistorySettings:
        if any(days <= 0 for days in self.retention_days.values()):
            raise ValueError("retention_days must be positive")
        self.retention_days = {**DEFAULT_RETENTION_DAYS, **self.retention_days}
        return self


class LiveSettings(BaseModel):
    """The live WebSocket's limits per API process (see docs/live-protocol.md)."""

    # Frames a client may have queued before its deltas are coalesced per object instead.
    queue_frames: int = Field(256, ge=1)
    # A client behind (coalescing, or stuck in one send) this long is disconnected.
    slow_client_s: float = Field(15.0, gt=0)
    heartbeat_s: float = Field(15.0, gt=0)
    aggregate_interval_s: float = Field(1.0, gt=0)
    max_subscriptions: int = Field(16, ge=1)
    max_message_bytes: int = Field(65_536, ge=256)


class ClockSettings(BaseModel):
    """The city's clock: real time unless a demo or a test starts it elsewhere or faster."""

    # The simulated city starts at this moment (with its zone, e.g. 2026-12-03T01:00+07:00).
    start: datetime | None = None
    # A time-lapse: city seconds per real second.
    speed: float = Field(1.0, ge=1.0, le=MAX_SPEED)

    @field_validator("start")
    @classmethod
    def _needs_zone(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("IOC_CLOCK__START needs a UTC offset, e.g. 2026-12-03T01:00+07:00")
        return value

    def build(self) -> Clock:
        """The process's one clock."""
        return Clock(self.start, self.speed)


class Settings(BaseSettings):
    """Everything the service and its workers read from the environment."""

    model_config = SettingsConfigDict(
        env_prefix="IOC_", env_nested_delimiter="__", extra="ignore"
    )

    environment: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    city_pack: Path = PROJECT_ROOT / "packs" / "hanoi"
    feeds: list[str] = Field(default_factory=lambda: [
        "parking", "parking_sessions", "signals", "queues", "online_services",
        "brt_vehicles", "brt_trips", "brt_taps",
    ])
    # Keys the pseudonymous hash of smart-card numbers; change it in production.
    card_hash_key: str = DEV_CARD_KEY
    frontend_dist: Path = PROJECT_ROOT / "frontend" / "dist"
    basemap_style_url: str | None = None
    sources: dict[str, SourceSettings] = Field(default_factory=dict)
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    push_keys: dict[str, PushKey] = Field(default_factory=dict)
    push_max_bytes: int = 5 * 1024 * 1024
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    embedded: EmbeddedSettings = Field(default_factory=EmbeddedSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    situations: SituationSettings = Field(default_factory=SituationSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    live: LiveSettings = Field(default_factory=LiveSettings)
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    history: HistorySettings = Field(default_factory=HistorySettings)
    clock: ClockSettings = Field(default_factory=ClockSettings)
    # Log lines as text for people, or one JSON object per line for a log pipeline.
    log_format: Literal["text", "json"] = "text"

    @model_validator(mode="after")
    def _production_needs_real_servers_and_secrets(self) -> Settings:
        if self.environment != "production":
            return self
        if self.database.url is None or self.redis.url is None:
            raise ValueError(
                "IOC_DATABASE__URL and IOC_REDIS__URL are required when IOC_ENVIRONMENT=production"
            )
        if self.card_hash_key == DEV_CARD_KEY or len(self.card_hash_key) < 32:
            raise ValueError("IOC_CARD_HASH_KEY must be set to a secret of 32+ characters "
                             "when IOC_ENVIRONMENT=production")
        if self.auth.secret == DEV_AUTH_SECRET or len(self.auth.secret) < 32:
            raise ValueError("IOC_AUTH__SECRET must be set to a secret of 32+ characters "
                             "when IOC_ENVIRONMENT=production")
        if self.auth.bootstrap_password == DEV_PASSWORD:
            raise ValueError("IOC_AUTH__BOOTSTRAP_PASSWORD must not be the development password "
                             "when IOC_ENVIRONMENT=production")
        return self

    @property
    def card_key(self) -> bytes:
        """The card-hash key as bytes."""
        return self.card_hash_key.encode()

    def with_urls(self, database_url: str | None, redis_url: str | None) -> Settings:
        """Return a copy whose missing URLs are filled in (by the embedded servers)."""
        return self.model_copy(
            update={
                "database": self.database.model_copy(
                    update={"url": self.database.url or database_url}
                ),
                "redis": self.redis.model_copy(update={"url": self.redis.url or redis_url}),
            }
        )
