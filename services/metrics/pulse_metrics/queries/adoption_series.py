"""DAU, WAU and MAU per day from activity links: the arithmetic of the rollup read and of a segment's read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import numpy as np

from pulse_metrics.projections.rollups import NEVER
from pulse_metrics.queries.figures import ActiveUsers


def active_series(links: Iterable[tuple[date, date, int]], first: date, last: date) -> list[ActiveUsers]:
    """DAU, WAU and MAU of each day ``first``..``last`` from links (day, previous active day, users).

    A link counts on day d for a window of w days when day <= d < day + w and previous < d - w + 1, that is on
    the days from max(day, previous + w) to day + w - 1: a range, so each link adds to a difference array once.
    In numpy over day numbers: a 90-day read sums ~4,000 links, and date arithmetic per link in Python took 45 ms.
    """
    size = (last - first).days + 1
    rows = list(links)
    origin = first.toordinal()
    day = np.fromiter((r[0].toordinal() - origin for r in rows), dtype=np.int64, count=len(rows))
    never = np.fromiter((r[1] == NEVER for r in rows), dtype=bool, count=len(rows))
    previous = np.fromiter((r[1].toordinal() - origin for r in rows), dtype=np.int64, count=len(rows))
    users = np.fromiter((r[2] for r in rows), dtype=np.int64, count=len(rows))
    totals = {}
    for window in (1, 7, 30):
        since = np.where(never, day, np.maximum(day, previous + window))
        begin = np.maximum(since, 0)
        end = np.minimum(day + window, size)  # exclusive
        counted = begin < end
        deltas = np.zeros(size + 1, dtype=np.int64)
        np.add.at(deltas, begin[counted], users[counted])
        np.add.at(deltas, end[counted], -users[counted])
        totals[window] = np.cumsum(deltas[:size]).tolist()
    return [ActiveUsers(first + timedelta(days=i), totals[1][i], totals[7][i], totals[30][i]) for i in range(size)]
