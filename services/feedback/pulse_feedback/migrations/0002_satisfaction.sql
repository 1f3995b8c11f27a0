-- Satisfaction (product.md §6): every response, the rollups the score and theme reads sum, and the feedback
-- service's own projections of what it needs from usage (traits, feature first use) and sessions (crashes).

-- The text search configuration (language) of a project's comments; 'english' when a project has no row.
-- Changing it re-indexes the project's comments (`pulse feedback language`).
CREATE TABLE feedback.text_settings (
    project  text      PRIMARY KEY REFERENCES control.projects (project),
    language regconfig NOT NULL
);

CREATE TABLE feedback.responses (
    project        text        NOT NULL,
    response_id    uuid        NOT NULL,
    kind           text        NOT NULL CHECK (kind IN ('nps', 'csat', 'ces')),
    score          smallint    NOT NULL,
    -- 'bad' (detractor, unsatisfied, disagree), 'neutral' (NPS passive) or 'good': the sides themes compare.
    side           text        NOT NULL CHECK (side IN ('bad', 'neutral', 'good')),
    responded_at   timestamptz NOT NULL,
    -- The local day of the response and the local midnight that ends it (traits and adoption are as of then).
    day            date        NOT NULL,
    day_end        timestamptz NOT NULL,
    distinct_id    text        NOT NULL,
    user_id        text,
    anonymous_id   text,
    comment        text,
    comment_search tsvector,
    feature        text,
    release        text,
    channel        text,
    survey         text,
    properties     jsonb       NOT NULL DEFAULT '{}',
    -- The user's traits in effect at the end of the response's local day, and the features they had used by then
    -- (both kept current by the usage projection).
    traits         jsonb       NOT NULL DEFAULT '{}',
    adopted        text[]      NOT NULL DEFAULT '{}',
    received_at    timestamptz NOT NULL,
    PRIMARY KEY (project, response_id)
);
-- Verbatims newest first; window scans of filtered scores and breakdowns (kind first: every such read names one).
CREATE INDEX responses_newest ON feedback.responses (project, responded_at DESC, response_id DESC);
CREATE INDEX responses_by_day ON feedback.responses (kind, project, day)
    INCLUDE (score, day_end, distinct_id, feature, release, channel, survey);
-- Filters combined with each other or with a segment (the rollups hold one group at a time): the window's
-- responses of one feature, release, channel or survey, with what the other filters compare, from the index alone.
CREATE INDEX responses_by_feature ON feedback.responses (kind, project, feature, day)
    INCLUDE (score, release, channel, survey, traits);
CREATE INDEX responses_by_release ON feedback.responses (kind, project, release, day)
    INCLUDE (score, feature, channel, survey, traits);
CREATE INDEX responses_by_channel ON feedback.responses (kind, project, channel, day)
    INCLUDE (score, feature, release, survey, traits);
CREATE INDEX responses_by_survey ON feedback.responses (kind, project, survey, day)
    INCLUDE (score, feature, release, channel, traits);
CREATE INDEX responses_by_user ON feedback.responses (distinct_id, project) INCLUDE (kind, day, score);
CREATE INDEX responses_search ON feedback.responses USING gin (comment_search);

-- Responses per local day and score, in total (dimension '' and value '') and per feature, release, channel and
-- survey (value '' when the response had none), per trait value (dimension 'trait:<name>', scalar values, cut to
-- 200 characters) and per feature adopted (dimension 'adopted'): a window's score and series, segments and every
-- breakdown but the crash experience sum at most days x scores rows per group however many responses there are.
CREATE TABLE feedback.score_days (
    project   text     NOT NULL,
    kind      text     NOT NULL,
    dimension text     NOT NULL,
    value     text     NOT NULL,
    day       date     NOT NULL,
    score     smallint NOT NULL,
    responses bigint   NOT NULL,
    PRIMARY KEY (project, kind, dimension, value, day, score)
);
CREATE INDEX score_days_by_day ON feedback.score_days (kind, project, dimension, day) INCLUDE (value, score, responses);

-- Comments containing each term (a lexeme of the project's language, or two adjacent ones) per local day and side.
CREATE TABLE feedback.term_days (
    project   text   NOT NULL,
    kind      text   NOT NULL,
    day       date   NOT NULL,
    side      text   NOT NULL,
    term      text   NOT NULL,
    responses bigint NOT NULL,
    PRIMARY KEY (project, kind, day, side, term)
);

-- Themes sum a window's term counts: tens of thousands of terms a day. term_days is where consumers add and remove
-- counts; a packer copies each changed day into one row of arrays (term ids and counts per side, int4
-- little-endian, uncompressed) that a read sums in a few milliseconds. A day changed since it was packed is
-- listed in term_days_changed, and reads take it from term_days instead, so themes are exact at every moment.
CREATE TABLE feedback.terms (
    project text NOT NULL,
    term    text NOT NULL,
    term_id int  NOT NULL,  -- numbered from 1 per project by the packer, so a window's ids index a short array
    PRIMARY KEY (project, term),
    UNIQUE (project, term_id)
);
CREATE TABLE feedback.term_day_vectors (
    project  text  NOT NULL,
    kind     text  NOT NULL,
    day      date  NOT NULL,
    term_ids bytea NOT NULL,
    bad      bytea NOT NULL,
    neutral  bytea NOT NULL,
    good     bytea NOT NULL,
    PRIMARY KEY (project, kind, day)
);
ALTER TABLE feedback.term_day_vectors
    ALTER COLUMN term_ids SET STORAGE EXTERNAL, ALTER COLUMN bad SET STORAGE EXTERNAL,
    ALTER COLUMN neutral SET STORAGE EXTERNAL, ALTER COLUMN good SET STORAGE EXTERNAL;
CREATE TABLE feedback.term_days_changed (
    project    text        NOT NULL,
    kind       text        NOT NULL,
    day        date        NOT NULL,
    changed_at timestamptz NOT NULL,
    PRIMARY KEY (project, kind, day)
);
CREATE INDEX term_days_changed_oldest ON feedback.term_days_changed (changed_at);

-- Identify traits with the event time they were set at; a user's traits at time t are the latest values before t.
CREATE TABLE feedback.trait_changes (
    project     text        NOT NULL,
    distinct_id text        NOT NULL,
    trait       text        NOT NULL,
    changed_at  timestamptz NOT NULL,
    value       jsonb       NOT NULL,
    PRIMARY KEY (project, distinct_id, trait, changed_at)
);

-- When each user first used each feature (event time).
CREATE TABLE feedback.feature_adopters (
    project       text        NOT NULL,
    feature       text        NOT NULL,
    distinct_id   text        NOT NULL,
    first_used_at timestamptz NOT NULL,
    PRIMARY KEY (project, feature, distinct_id)
);
CREATE INDEX feature_adopters_by_user ON feedback.feature_adopters (distinct_id, project);

-- Sessions deduplicated by id (pulse_common.session_state), to know who had a crashed session and when.
CREATE TABLE feedback.session_states (
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
CREATE INDEX session_states_by_user ON feedback.session_states (distinct_id, project);

-- The local days on which a user had a crashed session (by the session's start).
CREATE TABLE feedback.crash_days (
    project     text NOT NULL,
    distinct_id text NOT NULL,
    day         date NOT NULL,
    PRIMARY KEY (project, distinct_id, day)
);
CREATE INDEX crash_days_by_day ON feedback.crash_days (project, day) INCLUDE (distinct_id);

-- A user's traits at time `at`: the latest value of each trait set before then (a null value removes the trait).
CREATE FUNCTION feedback.traits_at(p_project text, p_distinct_id text, p_at timestamptz) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT coalesce(jsonb_object_agg(latest.trait, latest.value), '{}'::jsonb)
    FROM (
        SELECT DISTINCT ON (t.trait) t.trait, t.value FROM feedback.trait_changes t
        WHERE t.project = p_project AND t.distinct_id = p_distinct_id AND t.changed_at < p_at
        ORDER BY t.trait, t.changed_at DESC
    ) latest
    WHERE jsonb_typeof(latest.value) <> 'null'
$$;

-- The features a user had used before time `at`, sorted.
CREATE FUNCTION feedback.adopted_at(p_project text, p_distinct_id text, p_at timestamptz) RETURNS text[]
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(a.feature ORDER BY a.feature), '{}'::text[]) FROM feedback.feature_adopters a
    WHERE a.project = p_project AND a.distinct_id = p_distinct_id AND a.first_used_at < p_at
$$;

-- The context rollup groups of a response: each scalar trait value and each feature adopted.
CREATE FUNCTION feedback.context_groups(p_traits jsonb, p_adopted text[]) RETURNS TABLE (dimension text, value text)
LANGUAGE sql IMMUTABLE AS $$
    SELECT 'trait:' || t.key, left(t.value #>> '{}', 200) FROM jsonb_each(p_traits) AS t
    WHERE jsonb_typeof(t.value) IN ('string', 'number', 'boolean') AND length(t.key) <= 200
    UNION ALL
    SELECT 'adopted', f FROM unnest(p_adopted) AS f
$$;
