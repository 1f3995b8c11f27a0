-- One adoption projection (metrics.adoption) replaces metrics.activity, metrics.features and metrics.traits, so
-- activity, feature use, traits, identity links and the rollups below move together in one transaction. Its
-- tables are emptied here and rebuilt from pulse.usage.v1 (kept forever) by the new projection.
TRUNCATE metrics.user_days, metrics.users, metrics.user_feature_days, metrics.feature_adopters,
         metrics.user_traits, metrics.trait_history;
DELETE FROM tracking.event_claims WHERE consumer IN ('metrics.activity', 'metrics.features', 'metrics.traits');
DELETE FROM tracking.partition_offsets WHERE consumer IN ('metrics.activity', 'metrics.features', 'metrics.traits');

-- Feature use of one user is read as a whole when it changes, and a user's features when their first day moves.
DROP INDEX metrics.user_feature_days_by_user;
CREATE INDEX user_feature_days_by_user ON metrics.user_feature_days (project, distinct_id, feature, day);
CREATE INDEX feature_adopters_by_user ON metrics.feature_adopters (project, distinct_id);

-- Anonymous ids linked to users (product.md §1), from the link's event time on.
CREATE TABLE metrics.identity_links (
    project      text        NOT NULL,
    anonymous_id text        NOT NULL,
    linked_at    timestamptz NOT NULL,
    user_id      text        NOT NULL,
    PRIMARY KEY (project, anonymous_id, linked_at)
);
CREATE INDEX identity_links_by_user ON metrics.identity_links (project, user_id);

-- Rollups (see pulse_metrics.projections.rollups): distinct users over any window as sums of small tables.
-- previous_day is the user's previous active day, -infinity for their first. Counters have no CHECK (>= 0):
-- Postgres checks a proposed row before ON CONFLICT turns it into an update, so a decrement would be refused.
CREATE TABLE metrics.activity_links (
    project      text   NOT NULL,
    day          date   NOT NULL,
    previous_day date   NOT NULL,
    users        integer NOT NULL,
    PRIMARY KEY (project, day, previous_day)
);

-- Per interval: users of each cohort (first active period) active in each period, and whose last active period
-- it is.
CREATE TABLE metrics.cohort_periods (
    project  text   NOT NULL,
    interval text   NOT NULL CHECK (interval IN ('day', 'week', 'month')),
    cohort   date   NOT NULL,
    period   date   NOT NULL,
    active   integer NOT NULL DEFAULT 0,
    last     integer NOT NULL DEFAULT 0,
    PRIMARY KEY (project, interval, cohort, period)
);

CREATE TABLE metrics.feature_links (
    project      text   NOT NULL,
    feature      text   NOT NULL,
    day          date   NOT NULL,
    previous_day date   NOT NULL,
    users        integer NOT NULL,
    PRIMARY KEY (project, feature, day, previous_day)
);
-- Users of each feature over a window are the links with previous_day before it: few, found by this index.
CREATE INDEX feature_links_by_previous_day ON metrics.feature_links (project, previous_day, feature, day)
    INCLUDE (users);

CREATE TABLE metrics.feature_day_events (
    project text   NOT NULL,
    feature text   NOT NULL,
    day     date   NOT NULL,
    events  bigint NOT NULL,
    PRIMARY KEY (project, feature, day)
);

-- Days from a user's first active day to their first use of a feature: the distribution of time to adopt.
CREATE TABLE metrics.adoption_delays (
    project text   NOT NULL,
    feature text   NOT NULL,
    days    int    NOT NULL,
    users   integer NOT NULL,
    PRIMARY KEY (project, feature, days)
);

-- The rollups are small and their rows are updated by every batch: vacuum them often, so reads stay index-only.
ALTER TABLE metrics.activity_links SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE metrics.cohort_periods SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE metrics.feature_links SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE metrics.feature_day_events SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE metrics.adoption_delays SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05);
