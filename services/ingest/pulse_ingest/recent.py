"""Event ids this ingest worker published recently, so a client's retry is reported as a duplicate at once.

Bounded: the oldest ids are forgotten first. Projections ignore duplicates forever whatever this cache knows.
"""

from collections import OrderedDict
from collections.abc import Iterable
from uuid import UUID


class RecentEventIds:
    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[UUID, None] = OrderedDict()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def remember(self, event_ids: Iterable[UUID]) -> None:
        """Record ids whose publication the broker acknowledged."""
        ids = self._ids
        for event_id in event_ids:
            ids[event_id] = None
            ids.move_to_end(event_id)
        while len(ids) > self._capacity:
            ids.popitem(last=False)
