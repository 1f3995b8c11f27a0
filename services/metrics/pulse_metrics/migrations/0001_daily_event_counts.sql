CREATE SCHEMA IF NOT EXISTS metrics;

-- Events per event name per local day of the project's timezone, by event time (product.md §2, §3).
CREATE TABLE metrics.daily_event_counts (
    project text   NOT NULL,
    day     date   NOT NULL,
    event   text   NOT NULL,
    count   bigint NOT NULL CHECK (count >= 0),
    PRIMARY KEY (project, day, event)
);
