-- Segment rollups (product.md §4, segments): for each trait a project declares (`pulse segment declare`), the
-- adoption rollups of 0006 kept per value of the trait, so a segmented read sums a few thousand rows as an
-- unsegmented one does. Each user-day counts under the value the user held at the end of that local day.
-- previous_day: the user's previous active day under the same value; -infinity when the day is their first-ever
-- active day (first-ever use, for features); 0001-01-02 when it is their first under the value but not their first
-- ever (active before under another value, so not new).
CREATE TABLE metrics.segment_traits (
    project     text        NOT NULL,
    trait       text        NOT NULL,
    declared_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project, trait)
);

CREATE TABLE metrics.segment_activity_links (
    project      text    NOT NULL,
    trait        text    NOT NULL,
    value        text    NOT NULL,
    day          date    NOT NULL,
    previous_day date    NOT NULL,
    users        integer NOT NULL,
    PRIMARY KEY (project, trait, value, day, previous_day)
);

-- Only users whose first-ever active day counts under the value are in its cohorts (as in an unsegmented read,
-- a cohort is the users first active in the period).
CREATE TABLE metrics.segment_cohort_periods (
    project  text    NOT NULL,
    trait    text    NOT NULL,
    value    text    NOT NULL,
    interval text    NOT NULL CHECK (interval IN ('day', 'week', 'month')),
    cohort   date    NOT NULL,
    period   date    NOT NULL,
    active   integer NOT NULL DEFAULT 0,
    last     integer NOT NULL DEFAULT 0,
    PRIMARY KEY (project, trait, value, interval, cohort, period)
);

CREATE TABLE metrics.segment_feature_links (
    project      text    NOT NULL,
    trait        text    NOT NULL,
    value        text    NOT NULL,
    feature      text    NOT NULL,
    day          date    NOT NULL,
    previous_day date    NOT NULL,
    users        integer NOT NULL,
    PRIMARY KEY (project, trait, value, feature, day, previous_day)
);
CREATE INDEX segment_feature_links_by_previous_day
    ON metrics.segment_feature_links (project, trait, value, previous_day, feature, day) INCLUDE (users);

CREATE TABLE metrics.segment_feature_day_events (
    project text   NOT NULL,
    trait   text   NOT NULL,
    value   text   NOT NULL,
    feature text   NOT NULL,
    day     date   NOT NULL,
    events  bigint NOT NULL,
    PRIMARY KEY (project, trait, value, feature, day)
);

-- Adopters under the value they held on the day of their first use.
CREATE TABLE metrics.segment_adoption_delays (
    project text    NOT NULL,
    trait   text    NOT NULL,
    value   text    NOT NULL,
    feature text    NOT NULL,
    days    int     NOT NULL,
    users   integer NOT NULL,
    PRIMARY KEY (project, trait, value, feature, days)
);

ALTER TABLE metrics.segment_activity_links
    SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE metrics.segment_cohort_periods
    SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE metrics.segment_feature_links
    SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE metrics.segment_feature_day_events
    SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE metrics.segment_adoption_delays
    SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05);
