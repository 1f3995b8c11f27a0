-- Who was active on which local day (product.md §4): the base of DAU/WAU/MAU, lifecycle and retention.
-- Every row is keyed by its user, so one user's contributions can be removed exactly.
CREATE TABLE metrics.user_days (
    project     text   NOT NULL,
    day         date   NOT NULL,
    distinct_id text   NOT NULL,
    events      bigint NOT NULL CHECK (events > 0),
    PRIMARY KEY (project, day, distinct_id)
);
CREATE INDEX user_days_by_user ON metrics.user_days (project, distinct_id, day);

-- Each user's first and last active local day.
CREATE TABLE metrics.users (
    project     text NOT NULL,
    distinct_id text NOT NULL,
    first_day   date NOT NULL,
    last_day    date NOT NULL,
    PRIMARY KEY (project, distinct_id)
);
CREATE INDEX users_by_first_day ON metrics.users (project, first_day);
