"""Event ids this ingest worker published recently, so a client's retry is reported as a duplicate at once.

Bounded, in two generations of sets: new ids go into the current one; once it holds half the capacity, the next
request's ids start a new one, the current becomes the previous and the one before is dropped. So an id is kept at
least until half the capacity of other ids has been remembered after it, and the memory holds at most the capacity
plus two requests' ids. Two sets cost
a C-level update per request; a least-recently-used order cost a Python step per id (a twelfth of ingest's time).
Projections ignore duplicates forever whatever this cache knows.
"""

from collections.abc import Iterable


class RecentEventIds:
    def __init__(self, capacity: int) -> None:
        self._generation_size = capacity // 2 if capacity > 1 else capacity
        self._current: set[str] = set()
        self._previous: set[str] = set()

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._current or event_id in self._previous

    def among(self, event_ids: set[str]) -> set[str]:
        """Which of ``event_ids`` were remembered: two C-level set intersections for a whole request."""
        return (event_ids & self._current) | (event_ids & self._previous)

    def __len__(self) -> int:
        return len(self._current | self._previous)

    def remember(self, event_ids: Iterable[str]) -> None:
        """Record ids (their text) whose publication the broker acknowledged."""
        if not self._generation_size:
            return
        if len(self._current) >= self._generation_size:
            self._previous, self._current = self._current, set()
        self._current.update(event_ids)
