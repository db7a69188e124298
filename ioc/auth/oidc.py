"""Access tokens from an external OpenID Connect provider, checked against its published keys."""

from __future__ import annotations

import jwt

from ioc.auth.roles import Principal, Role
from ioc.auth.tokens import TokenError
from ioc.settings import OidcSettings

# When a provider grants several of our roles, the broadest one wins.
_PRECEDENCE = (Role.ADMIN, Role.OPERATOR, Role.PLANNER, Role.VIEWER)


class OidcVerifier:
    """Verifies a provider's signed access tokens and maps its roles onto ours."""

    def __init__(self, settings: OidcSettings) -> None:
        self._settings = settings
        self._keys = jwt.PyJWKClient(settings.jwks_url, cache_keys=True, lifespan=3600)

    @property
    def issuer(self) -> str:
        """The provider's issuer URL, as its tokens name it."""
        return self._settings.issuer

    def verify(self, token: str) -> Principal:
        """The principal a provider token names (blocking: it may fetch the key set)."""
        try:
            key = self._keys.get_signing_key_from_jwt(token)
            claims = jwt.decode(token, key.key, algorithms=["RS256", "ES256", "PS256"],
                                audience=self._settings.audience, issuer=self._settings.issuer,
                                options={"require": ["exp", "sub"]})
        except jwt.PyJWTError as err:
            raise TokenError(f"invalid provider token: {err}") from err
        granted = claims.get(self._settings.roles_claim, [])
        names = {granted} if isinstance(granted, str) else set(granted or [])
        mapped = {self._settings.role_map.get(name, name) for name in names}
        for role in _PRECEDENCE:
            if role.value in mapped:
                name = claims.get("preferred_username") or claims["sub"]
                return Principal(str(name), role)
        raise TokenError("the provider grants this user none of our roles")


def token_issuer(token: str) -> str | None:
    """The `iss` claim of a token, read without verifying it (only to pick the verifier)."""
    try:
        issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
    except jwt.PyJWTError:
        return None
    return issuer if isinstance(issuer, str) else None
