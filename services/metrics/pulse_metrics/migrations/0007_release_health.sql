-- Release health (product.md §5): each session's current state, SDK aggregates, and their rollups.
CREATE TABLE metrics.sessions (
    project     text        NOT NULL,
    session_id  text        NOT NULL,
    release     text        NOT NULL,
    environment text        NOT NULL,
    distinct_id text,
    started     timestamptz NOT NULL,
    status      text        NOT NULL,
    errors      integer     NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (project, session_id)
);

-- Pre-aggregated counts from SDKs in request mode (additive), per user when the SDK knew it ('' when not).
CREATE TABLE metrics.session_aggregates (
    project     text        NOT NULL,
    release     text        NOT NULL,
    environment text        NOT NULL,
    distinct_id text        NOT NULL,
    started     timestamptz NOT NULL,
    sessions    bigint      NOT NULL,
    errored     bigint      NOT NULL,
    crashed     bigint      NOT NULL,
    abnormal    bigint      NOT NULL,
    PRIMARY KEY (project, release, environment, distinct_id, started)
);

-- Each user's sessions per release, environment and local hour, by family (any, crashed, unhealthy): what the
-- user links below are recomputed from, bounded by the user's active hours however many sessions they have.
CREATE TABLE metrics.release_user_hours (
    project     text      NOT NULL,
    release     text      NOT NULL,
    environment text      NOT NULL,
    distinct_id text      NOT NULL,
    hour        timestamp NOT NULL,
    sessions    bigint    NOT NULL,
    crashed     bigint    NOT NULL,
    unhealthy   bigint    NOT NULL,
    PRIMARY KEY (project, release, environment, distinct_id, hour)
);
-- Users of the last 24 hours per environment (adoption by users). Led by the hour, so the planner never prefers it
-- to the primary key for a user's rows (it did, before the table was first analyzed: a scan per user).
CREATE INDEX release_user_hours_by_hour ON metrics.release_user_hours (hour, project, environment)
    INCLUDE (release, distinct_id, sessions);

-- Sessions by health per release, environment and local hour they started in (naive local wall-clock hour).
CREATE TABLE metrics.release_hours (
    project     text      NOT NULL,
    release     text      NOT NULL,
    environment text      NOT NULL,
    hour        timestamp NOT NULL,
    sessions    bigint    NOT NULL DEFAULT 0,
    errored     bigint    NOT NULL DEFAULT 0,
    crashed     bigint    NOT NULL DEFAULT 0,
    abnormal    bigint    NOT NULL DEFAULT 0,
    PRIMARY KEY (project, release, environment, hour)
);
CREATE INDEX release_hours_by_environment ON metrics.release_hours (project, environment, hour);

-- Distinct users per family (any, crashed, unhealthy): each active local hour of a user linked to the local day of
-- their previous active hour (-infinity for the first).
CREATE TABLE metrics.release_user_links (
    project      text      NOT NULL,
    release      text      NOT NULL,
    environment  text      NOT NULL,
    kind         text      NOT NULL CHECK (kind IN ('any', 'crashed', 'unhealthy')),
    hour         timestamp NOT NULL,
    previous_day date      NOT NULL,
    users        integer   NOT NULL,
    PRIMARY KEY (project, release, environment, kind, hour, previous_day)
);
-- Users over a window are the links whose previous active day is before it: few, found by this index.
CREATE INDEX release_user_links_by_previous_day
    ON metrics.release_user_links (project, previous_day, hour) INCLUDE (release, environment, kind, users);

-- Small rollups updated by every batch: vacuumed often, so reads stay index-only.
ALTER TABLE metrics.release_hours SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE metrics.release_user_links
    SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05);
