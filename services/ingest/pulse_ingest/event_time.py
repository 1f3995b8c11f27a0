"""Event time (product.md §2): clock-drift correction and the future / horizon checks. Pure."""

from dataclasses import dataclass
from datetime import datetime, timedelta


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
    """The event time to record, corrected by the client's clock drift when that drift is large.

    Small drifts are network delay, not a wrong clock: correcting them would shift and reorder events.
    """
    if client_timestamp is None:
        return EventTime(received_at, None)
    timestamp = client_timestamp
    if sent_at is not None:
        drift = sent_at - received_at
        if abs(drift) >= rules.drift_threshold:
            try:
                timestamp = client_timestamp - drift
            except OverflowError:  # corrected beyond year 1 or 9999: as far out as a time can be
                code, side = (
                    ("timestamp_in_future", "after") if drift < timedelta(0) else ("timestamp_too_old", "before")
                )
                raise EventTimeRejected(
                    code,
                    f"timestamp {client_timestamp.isoformat()} corrected by the client's clock drift is {side} "
                    "any date",
                ) from None
    if timestamp - received_at > rules.max_future:
        raise EventTimeRejected(
            "timestamp_in_future",
            f"timestamp {client_timestamp.isoformat()} is more than {rules.max_future} after the server's time",
        )
    if received_at - timestamp > rules.horizon:
        raise EventTimeRejected(
            "timestamp_too_old",
            f"timestamp {client_timestamp.isoformat()} is older than the accepted horizon "
            f"of {_days(rules.horizon)} days",
        )
    return EventTime(timestamp, client_timestamp)


def _days(span: timedelta) -> str:
    return f"{span / timedelta(days=1):g}"
