-- Feature use per user per local day, and each user's first use of each feature (product.md §4).
CREATE TABLE metrics.user_feature_days (
    project     text   NOT NULL,
    feature     text   NOT NULL,
    day         date   NOT NULL,
    distinct_id text   NOT NULL,
    events      bigint NOT NULL CHECK (events > 0),
    PRIMARY KEY (project, feature, day, distinct_id)
);
CREATE INDEX user_feature_days_by_user ON metrics.user_feature_days (project, distinct_id);

CREATE TABLE metrics.feature_adopters (
    project     text NOT NULL,
    feature     text NOT NULL,
    distinct_id text NOT NULL,
    first_day   date NOT NULL,
    PRIMARY KEY (project, feature, distinct_id)
);
CREATE INDEX feature_adopters_by_first_day ON metrics.feature_adopters (project, feature, first_day);

-- A project's mapping of event names to features, applied to events received from `mapped_at` on, so a rebuild
-- of the projection gives the same figures as the live one.
CREATE TABLE metrics.feature_map (
    project   text        NOT NULL,
    event     text        NOT NULL,
    feature   text        NOT NULL,
    mapped_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project, event, mapped_at)
);
