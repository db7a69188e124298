"""Signed-in users for tests: tokens as a login would issue them, for servers run with
TEST_AUTH_SECRET."""

from __future__ import annotations

from ioc.auth.roles import Principal, Role
from ioc.auth.tokens import issue

TEST_AUTH_SECRET = "test-only-token-signing-secret-0123456789"


def access_token(role: str, username: str | None = None) -> str:
    """An access token for a user with `role` (named `test-<role>` unless given)."""
    principal = Principal(username or f"test-{role}", Role(role))
    return issue(TEST_AUTH_SECRET, principal, "access", 3600)


def bearer(role: str, username: str | None = None) -> dict[str, str]:
    """Request headers of a signed-in user with `role`."""
    return {"Authorization": f"Bearer {access_token(role, username)}"}
