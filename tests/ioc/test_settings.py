"""Settings: production refuses to run on embedded servers or on placeholder secrets."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ioc.settings import DEV_AUTH_SECRET, DEV_PASSWORD, Settings

URLS = {"database": {"url": "postgresql://ioc@db/ioc"}, "redis": {"url": "redis://redis:6379/0"}}
SECRET = {"auth": {"secret": "s" * 40}}


def test_production_needs_real_database_and_redis() -> None:
    with pytest.raises(ValidationError, match="IOC_DATABASE__URL and IOC_REDIS__URL"):
        Settings(environment="production", card_hash_key="k" * 40)


def test_production_refuses_the_development_card_key() -> None:
    with pytest.raises(ValidationError, match="IOC_CARD_HASH_KEY"):
        Settings(environment="production", **URLS, **SECRET)
    with pytest.raises(ValidationError, match="IOC_CARD_HASH_KEY"):
        Settings(environment="production", card_hash_key="short", **URLS, **SECRET)
    assert Settings(environment="production", card_hash_key="k" * 40, **URLS,
                    **SECRET).card_key == b"k" * 40


def test_production_refuses_the_development_token_secret_and_password() -> None:
    card = {"card_hash_key": "k" * 40}
    with pytest.raises(ValidationError, match="IOC_AUTH__SECRET"):
        Settings(environment="production", **URLS, **card)
    with pytest.raises(ValidationError, match="IOC_AUTH__SECRET"):
        Settings(environment="production", auth={"secret": "short"}, **URLS, **card)
    with pytest.raises(ValidationError, match="IOC_AUTH__BOOTSTRAP_PASSWORD"):
        Settings(environment="production", auth={"secret": "s" * 40,
                 "bootstrap_password": DEV_PASSWORD}, **URLS, **card)
    # Development runs on the documented defaults; an empty variable means "not set".
    assert Settings().auth.secret == DEV_AUTH_SECRET
    assert Settings(auth={"bootstrap_password": ""}).auth.bootstrap_password is None


def test_nested_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IOC_DATABASE__URL", "postgresql://x@y/z")
    monkeypatch.setenv("IOC_FEEDS", '["parking", "signals"]')
    monkeypatch.setenv("IOC_SOURCES", '{"signals": {"kind": "mqtt", "topic": "city/signals"}}')
    settings = Settings()
    assert settings.database.url == "postgresql://x@y/z"
    assert settings.feeds == ["parking", "signals"]
    assert settings.sources["signals"].kind == "mqtt"
    assert settings.environment == "development"
