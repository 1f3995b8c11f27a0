-- Erasing a person (user_deleted) from the projections that are not kept per user otherwise.

-- Daily event counts per user, so an erased user's events can be taken out of metrics.daily_event_counts exactly.
-- Keyed by the event's distinct id (its user id, else its anonymous id). Filled from this migration on; a rebuild
-- (`pulse projections rebuild metrics.daily_events`) fills it for the events before.
CREATE TABLE metrics.user_event_days (
    project     text   NOT NULL,
    distinct_id text   NOT NULL,
    day         date   NOT NULL,
    event       text   NOT NULL,
    count       bigint NOT NULL CHECK (count > 0),
    PRIMARY KEY (project, distinct_id, day, event)
);

-- A user's sessions, SDK aggregates and hour counts, found by the user for an erasure.
CREATE INDEX sessions_by_user ON metrics.sessions (project, distinct_id) WHERE distinct_id IS NOT NULL;
CREATE INDEX session_aggregates_by_user ON metrics.session_aggregates (project, distinct_id) WHERE distinct_id <> '';
CREATE INDEX release_user_hours_by_user ON metrics.release_user_hours (project, distinct_id);
