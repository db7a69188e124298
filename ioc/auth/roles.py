"""The four roles and who an authenticated request acts as."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a user may do: watch the wall, handle situations, study history, or administer."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    PLANNER = "planner"
    ADMIN = "admin"


# Each role and the roles whose routes it may also use: operators and planners see the
# wall too, and an administrator may do anything.
_INCLUDES: dict[Role, frozenset[Role]] = {
    Role.VIEWER: frozenset({Role.VIEWER}),
    Role.OPERATOR: frozenset({Role.OPERATOR, Role.VIEWER}),
    Role.PLANNER: frozenset({Role.PLANNER, Role.VIEWER}),
    Role.ADMIN: frozenset(Role),
}


@dataclass(frozen=True, slots=True)
class Principal:
    """The user a request acts as."""

    username: str
    role: Role

    def may(self, needed: Role) -> bool:
        """Whether this user may use a route that needs `needed`."""
        return needed in _INCLUDES[self.role]
