"""The live state of one stream as this process knows it: the latest value of every object.

It is seeded from the stream's snapshot function and moved forward by every delta in
sequence order, so a snapshot served from it at `seq` is exactly the state after delta
`seq`: the deltas that follow it are those with a higher number, with no gap and no overlap.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ioc.live.streams import Item, StreamSpec


@dataclass(slots=True)
class StreamModel:
    """Latest value per (section, key) of one stream, and the last sequence applied."""

    spec: StreamSpec
    seq: int = 0
    items: dict[tuple[str, str], Item] = field(default_factory=dict)
    version: int = 0

    def reset(self, seq: int, items: Iterable[Item]) -> None:
        """Replace everything with a fresh snapshot taken at `seq`."""
        self.items = {}
        self.seq = seq
        self.apply_items(items)

    def apply(self, seq: int, items: Iterable[Item]) -> None:
        """Move forward with delta `seq`."""
        self.seq = seq
        self.apply_items(items)

    def apply_items(self, items: Iterable[Item]) -> None:
        """Store each item's latest value; objects that are gone are removed."""
        gone = self.spec.gone
        for item in items:
            if gone is not None and not item.area and gone(item.value):
                self.items.pop((item.section, item.key), None)
            else:
                self.items[(item.section, item.key)] = item
        self.version += 1

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items.values())

    def body(self, items: Iterable[Item]) -> dict[str, Any]:
        """A snapshot-shaped body (every section a list) of `items`."""
        out: dict[str, list[dict[str, Any]]] = {section: [] for section in self.spec.sections}
        for item in items:
            out[item.section].append(item.value)
        return dict(out)
