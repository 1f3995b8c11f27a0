"""Event time (product.md §2): clock-drift correction and the future / horizon checks. Pure."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property


@dataclass(frozen=True)
class TimeRules:
    drift_threshold: timedelta
    max_future: timedelta
    horizon: timedelta


@dataclass(slots=True)  # one per event
class EventTime:
    timestamp: datetime
    original: datetime | None


class EventTimeRejected(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def resolve_event_time(
    client_timestamp: datetime | None, sent_at: datetime | None, received_at: datetime, rules: TimeRules
) -> EventTime:
    """The event time to record, corrected by the client's clock drift when that drift is large: the rule for one
    event (the endpoints use their request's ``RequestTime.clock``)."""
    if client_timestamp is None:
        return EventTime(received_at, None)
    return EventTime(RequestClock(sent_at, received_at, rules).event_time(client_timestamp), client_timestamp)


class RequestClock:
    """Event time for the events of one request: the drift and the accepted window are worked out once per request,
    so each event costs a subtraction and two comparisons (a batch holds up to 2,500 events)."""

    __slots__ = ("_earliest", "_latest", "_rules", "_shift")

    def __init__(self, sent_at: datetime | None, received_at: datetime, rules: TimeRules) -> None:
        self._rules = rules
        drift = sent_at - received_at if sent_at is not None else None
        # Small drifts are network delay, not a wrong clock: correcting them would shift and reorder events.
        self._shift = drift if drift is not None and abs(drift) >= rules.drift_threshold else None
        self._latest = _shifted(received_at, rules.max_future, datetime.max)
        self._earliest = _shifted(received_at, -rules.horizon, datetime.min)

    def event_time(self, client_timestamp: datetime) -> datetime:
        """``client_timestamp`` corrected by the drift; raises EventTimeRejected outside the accepted window."""
        timestamp = client_timestamp
        if self._shift is not None:
            try:
                timestamp = client_timestamp - self._shift
            except OverflowError:  # corrected beyond year 1 or 9999: as far out as a time can be
                code, side = (
                    ("timestamp_in_future", "after") if self._shift < timedelta(0) else ("timestamp_too_old", "before")
                )
                raise EventTimeRejected(
                    code,
                    f"timestamp {client_timestamp.isoformat()} corrected by the client's clock drift is {side} "
                    "any date",
                ) from None
        if timestamp > self._latest:
            raise EventTimeRejected(
                "timestamp_in_future",
                f"timestamp {client_timestamp.isoformat()} is more than {self._rules.max_future} after the server's "
                "time",
            )
        if timestamp < self._earliest:
            raise EventTimeRejected(
                "timestamp_too_old",
                f"timestamp {client_timestamp.isoformat()} is older than the accepted horizon "
                f"of {_days(self._rules.horizon)} days",
            )
        return timestamp


@dataclass(frozen=True)
class RequestTime:
    """When a request arrived, the client's ``sentAt`` and the rules: what its events' times are worked out from.
    Each ingest endpoint's request context extends it."""

    received_at: datetime
    sent_at: datetime | None
    rules: TimeRules

    @cached_property
    def clock(self) -> RequestClock:
        """Worked out once per request, for all of its events."""
        return RequestClock(self.sent_at, self.received_at, self.rules)


def _shifted(moment: datetime, by: timedelta, bound: datetime) -> datetime:
    """``moment + by``, or the representable ``bound`` where that is beyond year 1 or 9999."""
    try:
        return moment + by
    except OverflowError:
        return bound.replace(tzinfo=moment.tzinfo)


def _days(span: timedelta) -> str:
    return f"{span / timedelta(days=1):g}"
