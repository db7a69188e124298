"""One typed settings object, read from `IOC_` environment variables (nested with `__`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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


class IngestSettings(BaseModel):
    """Batching of the writer."""

    batch_entries: int = 200
    block_ms: int = 1000
    consumer: str = "writer-1"


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
    auth: AuthSettings = Field(default_factory=AuthSettings)

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
