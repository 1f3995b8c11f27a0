"""complete(next_start, zone, as_of): a period is complete once its local end is at or before ``as_of``."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pulse_common.periods import period_complete as complete

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
UTC_ZONE = ZoneInfo("UTC")
TICK = timedelta(microseconds=1)


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("next_start", "zone"),
    [
        pytest.param(date(2026, 3, 30), BERLIN, id="berlin"),
        pytest.param(date(2026, 11, 2), NEW_YORK, id="new-york"),
        pytest.param(date(2026, 1, 1), UTC_ZONE, id="utc"),
    ],
)
def test_unknown_as_of_is_never_complete(next_start: date, zone: ZoneInfo) -> None:
    assert complete(next_start, zone, None) is False


@pytest.mark.parametrize(
    ("next_start", "zone", "as_of", "expected"),
    [
        # Period ending at Berlin midnight 2026-03-29 (spring-forward day starts in CET): 2026-03-28T23:00Z.
        pytest.param(date(2026, 3, 29), BERLIN, _utc(2026, 3, 28, 23) - TICK, False, id="to-mar29-tick-before"),
        pytest.param(date(2026, 3, 29), BERLIN, _utc(2026, 3, 28, 23), True, id="to-mar29-exactly"),
        # Berlin 2026-03-29 lasts 23 h: it ends at 2026-03-30 00:00 CEST = 2026-03-29T22:00Z.
        pytest.param(date(2026, 3, 30), BERLIN, _utc(2026, 3, 29, 21, 59), False, id="to-mar30-minute-before"),
        pytest.param(date(2026, 3, 30), BERLIN, _utc(2026, 3, 29, 22) - TICK, False, id="to-mar30-tick-before"),
        pytest.param(date(2026, 3, 30), BERLIN, _utc(2026, 3, 29, 22), True, id="to-mar30-exactly"),
        pytest.param(date(2026, 3, 30), BERLIN, _utc(2026, 3, 29, 22, 30), True, id="to-mar30-after-not-cet-end"),
        pytest.param(date(2026, 3, 30), BERLIN, _utc(2026, 3, 29, 23), True, id="to-mar30-hour-after"),
        pytest.param(date(2026, 3, 30), BERLIN, _utc(2026, 3, 29, 0, 59), False, id="to-mar30-before-the-switch"),
        # Berlin 2026-10-25 lasts 25 h: it ends at 2026-10-26 00:00 CET = 2026-10-25T23:00Z.
        pytest.param(date(2026, 10, 26), BERLIN, _utc(2026, 10, 25, 22), False, id="to-oct26-cest-midnight-too-early"),
        pytest.param(date(2026, 10, 26), BERLIN, _utc(2026, 10, 25, 23) - TICK, False, id="to-oct26-tick-before"),
        pytest.param(date(2026, 10, 26), BERLIN, _utc(2026, 10, 25, 23), True, id="to-oct26-exactly"),
        pytest.param(date(2026, 10, 26), BERLIN, _utc(2026, 11, 1), True, id="to-oct26-week-after"),
        # The fall-back day itself starts at 2026-10-25 00:00 CEST = 2026-10-24T22:00Z.
        pytest.param(date(2026, 10, 25), BERLIN, _utc(2026, 10, 24, 22) - TICK, False, id="to-oct25-tick-before"),
        pytest.param(date(2026, 10, 25), BERLIN, _utc(2026, 10, 24, 22), True, id="to-oct25-exactly"),
        # ISO week 2026-03-23..29 (holds the 23 h day) ends 2026-03-30 00:00 CEST = 2026-03-29T22:00Z.
        pytest.param(date(2026, 3, 30), BERLIN, _utc(2026, 3, 29, 12), False, id="week-mid-sunday"),
        # Month of March 2026 ends 2026-04-01 00:00 CEST = 2026-03-31T22:00Z.
        pytest.param(date(2026, 4, 1), BERLIN, _utc(2026, 3, 31, 22) - TICK, False, id="march-tick-before"),
        pytest.param(date(2026, 4, 1), BERLIN, _utc(2026, 3, 31, 22), True, id="march-exactly"),
        # Month of October 2026 ends 2026-11-01 00:00 CET = 2026-10-31T23:00Z.
        pytest.param(date(2026, 11, 1), BERLIN, _utc(2026, 10, 31, 22), False, id="october-cest-offset-too-early"),
        pytest.param(date(2026, 11, 1), BERLIN, _utc(2026, 10, 31, 23), True, id="october-exactly"),
        # Year 2026 ends 2027-01-01 00:00 CET = 2026-12-31T23:00Z.
        pytest.param(date(2027, 1, 1), BERLIN, _utc(2026, 12, 31, 22, 59), False, id="year-minute-before"),
        pytest.param(date(2027, 1, 1), BERLIN, _utc(2026, 12, 31, 23), True, id="year-exactly"),
        # New York 2026-11-01 (25 h) ends 2026-11-02 00:00 EST = 2026-11-02T05:00Z.
        pytest.param(date(2026, 11, 2), NEW_YORK, _utc(2026, 11, 2, 4), False, id="ny-edt-midnight-too-early"),
        pytest.param(date(2026, 11, 2), NEW_YORK, _utc(2026, 11, 2, 5), True, id="ny-exactly"),
        # UTC.
        pytest.param(date(2026, 1, 1), UTC_ZONE, _utc(2025, 12, 31, 23, 59), False, id="utc-minute-before"),
        pytest.param(date(2026, 1, 1), UTC_ZONE, _utc(2026, 1, 1), True, id="utc-exactly"),
    ],
)
def test_complete_at_and_after_local_end(next_start: date, zone: ZoneInfo, as_of: datetime, expected: bool) -> None:
    assert complete(next_start, zone, as_of) is expected


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        # The same instants as above, written in other offsets: the comparison is by instant.
        pytest.param(datetime(2026, 3, 30, 0, 0, tzinfo=BERLIN), True, id="berlin-local-midnight"),
        pytest.param(datetime(2026, 3, 29, 23, 59, tzinfo=BERLIN), False, id="berlin-local-2359"),
        pytest.param(datetime(2026, 3, 29, 18, 0, tzinfo=NEW_YORK), True, id="new-york-1800-edt"),
        pytest.param(datetime(2026, 3, 29, 17, 59, tzinfo=NEW_YORK), False, id="new-york-1759-edt"),
    ],
)
def test_as_of_in_any_zone_compares_as_instant(as_of: datetime, expected: bool) -> None:
    assert complete(date(2026, 3, 30), BERLIN, as_of) is expected
