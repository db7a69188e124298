"""Tokens of an external OpenID Connect provider are trusted, with its roles mapped to ours."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.conftest import delete_keys, empty_tables
from tests.feeds.conftest import Endpoint, endpoint  # noqa: F401 - the provider's key set
from tests.ioc.server import Server, running

ISSUER = "https://sso.hanoi.example/realms/ioc"
AUDIENCE = "hanoi-ioc"


@pytest.fixture(scope="module")
def provider_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def oidc_server(
    endpoint: Endpoint, provider_key: rsa.RSAPrivateKey, database_url: str,  # noqa: F811
    servers: tuple[str, str], tmp_path: Path,
) -> Iterator[Server]:
    jwk = orjson.loads(RSAAlgorithm.to_jwk(provider_key.public_key()))
    endpoint.body = orjson.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "RS256"}]})
    env = {"IOC_DATABASE__URL": database_url, "IOC_REDIS__URL": servers[1],
           "IOC_REDIS__PREFIX": f"ioc-test-oidc-{tmp_path.name}", "IOC_FEEDS": '["parking"]',
           "IOC_AUTH__OIDC__ISSUER": ISSUER, "IOC_AUTH__OIDC__AUDIENCE": AUDIENCE,
           "IOC_AUTH__OIDC__JWKS_URL": endpoint.url,
           "IOC_AUTH__OIDC__ROLE_MAP": '{"ioc-duty-operators": "operator"}'}
    try:
        with running(env, tmp_path / "ioc.log") as server:
            yield server
    finally:
        empty_tables(database_url)
        delete_keys(servers[1], env["IOC_REDIS__PREFIX"])


def _token(key: rsa.RSAPrivateKey, roles: list[str], audience: str = AUDIENCE) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": audience, "sub": "f3a1", "preferred_username": "lan.nguyen",
              "roles": roles, "iat": now, "exp": now + 300}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


def _me(server: Server, token: str) -> httpx.Response:
    return httpx.get(f"{server.base_url}/api/auth/me", headers={"Authorization": f"Bearer {token}"})


def test_a_provider_token_signs_the_user_in_with_the_mapped_role(
    oidc_server: Server, provider_key: rsa.RSAPrivateKey
) -> None:
    response = _me(oidc_server, _token(provider_key, ["ioc-duty-operators", "staff"]))
    assert response.status_code == 200, response.text
    assert response.json() == {"username": "lan.nguyen", "role": "operator"}
    # A provider user with the admin role, named as ours, gets it too.
    assert _me(oidc_server, _token(provider_key, ["admin"])).json()["role"] == "admin"


def test_provider_tokens_for_another_audience_or_without_our_roles_are_refused(
    oidc_server: Server, provider_key: rsa.RSAPrivateKey
) -> None:
    assert _me(oidc_server, _token(provider_key, ["admin"], audience="payroll")).status_code == 401
    assert _me(oidc_server, _token(provider_key, ["staff"])).status_code == 401
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert _me(oidc_server, _token(stranger, ["admin"])).status_code == 401
