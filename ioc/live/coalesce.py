"""Latest value per object: what replaces a backlog of deltas for a client that fell behind.

Every delta carries absolute values, so a client that missed intermediate deltas loses
nothing by receiving only the newest value of each object. Items remember the sequence of
the delta they came from, so those the client already holds (at or below what it has been
sent) are left out when the merged frame is built.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ioc.live.streams import Item, StreamSpec


@dataclass(slots=True)
class Backlog:
    """The newest value of each object of one subscription's stream, since `first_seq`."""

    first_seq: int
    last_seq: int = 0
    latest: dict[tuple[str, str], tuple[int, Item]] = field(default_factory=dict)
    folded: int = 0

    def fold(self, seq: int, items: Iterable[Item]) -> None:
        """Take in one more delta's items (deltas arrive in sequence order)."""
        self.last_seq = max(self.last_seq, seq)
        self.folded += 1
        for item in items:
            self.latest[(item.section, item.key)] = (seq, item)

    def body(self, spec: StreamSpec, after: int) -> dict[str, Any] | None:
        """The merged, snapshot-shaped body of items newer than `after` (None: nothing new)."""
        sections: dict[str, list[dict[str, Any]]] = {}
        for seq, item in self.latest.values():
            if seq > after:
                sections.setdefault(item.section, []).append(item.value)
        if not sections:
            return None
        return {section: sections.get(section, []) for section in spec.sections}
