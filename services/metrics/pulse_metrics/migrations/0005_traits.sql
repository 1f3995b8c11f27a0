-- Traits from identify calls (product.md §1): the latest value of each trait by event time, and every value with
-- the time it took effect (for segments: activity counts under the value the user had at that time).
CREATE TABLE metrics.user_traits (
    project     text        NOT NULL,
    distinct_id text        NOT NULL,
    trait       text        NOT NULL,
    value       jsonb       NOT NULL,
    set_at      timestamptz NOT NULL,
    PRIMARY KEY (project, distinct_id, trait)
);

CREATE TABLE metrics.trait_history (
    project     text        NOT NULL,
    distinct_id text        NOT NULL,
    trait       text        NOT NULL,
    valid_from  timestamptz NOT NULL,
    value       jsonb       NOT NULL,
    PRIMARY KEY (project, distinct_id, trait, valid_from)
);
CREATE INDEX trait_history_by_value ON metrics.trait_history (project, trait, value);
