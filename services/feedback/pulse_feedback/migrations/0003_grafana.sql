-- What Grafana reads of the feedback service (common 0003: the grafana schema and its access rule). Columns here
-- are a contract with the dashboards in deploy/grafana: add, never rename or drop without a new view.

-- Formulas of product.md §6, the same as pulse_feedback.scores (tests/deploy compare them on random counts).
CREATE FUNCTION grafana.nps(promoters bigint, detractors bigint, n bigint) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN n > 0 THEN 100.0 * (promoters - detractors) / n END;

-- 95 % margin of error of the NPS, in points: 1.96 * 100 * sqrt((p + d - (p - d)^2) / n).
CREATE FUNCTION grafana.nps_margin(promoters bigint, detractors bigint, n bigint) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN n > 0 THEN 1.959963984540054 * 100 * sqrt(greatest(0.0,
        promoters::float8 / n + detractors::float8 / n - (promoters::float8 / n - detractors::float8 / n) ^ 2) / n) END;

-- The 95 % Wilson score interval of a share (CSAT satisfied, CES agree), as fractions.
CREATE FUNCTION grafana.wilson_low(good bigint, n bigint) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN n > 0 THEN greatest(0.0,
        ((good::float8 / n + 3.841458820694124 / (2 * n))
         - 1.959963984540054 * sqrt((good::float8 / n) * (1 - good::float8 / n) / n + 3.841458820694124 / (4.0 * n * n)))
        / (1 + 3.841458820694124 / n)) END;

CREATE FUNCTION grafana.wilson_high(good bigint, n bigint) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN n > 0 THEN least(1.0,
        ((good::float8 / n + 3.841458820694124 / (2 * n))
         + 1.959963984540054 * sqrt((good::float8 / n) * (1 - good::float8 / n) / n + 3.841458820694124 / (4.0 * n * n)))
        / (1 + 3.841458820694124 / n)) END;

-- Responses per local day and score: overall (dimension '', value ''), and per feature, release, channel, survey,
-- trait:<name> (the user's value at the end of the day) and adopted (features the user had used by then).
CREATE VIEW grafana.satisfaction_days WITH (security_barrier) AS
SELECT s.project, s.kind, s.dimension, s.value, s.day, s.score, s.responses
FROM feedback.score_days s
WHERE s.responses <> 0 AND s.project IN (SELECT project FROM grafana.projects);

-- NPS counts per local day and group (promoters 9-10, passives 7-8, detractors 0-6).
CREATE VIEW grafana.nps_days WITH (security_barrier) AS
SELECT s.project, s.dimension, s.value, s.day,
       sum(s.responses)::bigint AS n,
       coalesce(sum(s.responses) FILTER (WHERE s.score >= 9), 0)::bigint AS promoters,
       coalesce(sum(s.responses) FILTER (WHERE s.score BETWEEN 7 AND 8), 0)::bigint AS passives,
       coalesce(sum(s.responses) FILTER (WHERE s.score <= 6), 0)::bigint AS detractors
FROM feedback.score_days s
WHERE s.kind = 'nps' AND s.responses <> 0 AND s.project IN (SELECT project FROM grafana.projects)
GROUP BY s.project, s.dimension, s.value, s.day;

-- CSAT / CES counts per local day and group: good = satisfied (CSAT 4-5) or agree (CES 5-7), and the score sum
-- for the mean.
CREATE VIEW grafana.share_days WITH (security_barrier) AS
SELECT s.project, s.kind, s.dimension, s.value, s.day,
       sum(s.responses)::bigint AS n,
       coalesce(sum(s.responses) FILTER (WHERE s.score >= CASE s.kind WHEN 'csat' THEN 4 ELSE 5 END), 0)::bigint
           AS good,
       sum(s.responses * s.score)::bigint AS score_sum
FROM feedback.score_days s
WHERE s.kind IN ('csat', 'ces') AND s.responses <> 0 AND s.project IN (SELECT project FROM grafana.projects)
GROUP BY s.project, s.kind, s.dimension, s.value, s.day;

-- Every response with its context (verbatims when comment is not null).
CREATE VIEW grafana.responses WITH (security_barrier) AS
SELECT r.project, r.response_id, r.kind, r.responded_at, r.day, r.score, r.comment, r.distinct_id, r.feature,
       r.release, r.channel, r.survey, r.traits
FROM feedback.responses r
WHERE r.project IN (SELECT project FROM grafana.projects);

-- Local days on which a user had a crashed session (the crash experience: crashed in the window or not).
CREATE VIEW grafana.crash_days WITH (security_barrier) AS
SELECT c.project, c.distinct_id, c.day
FROM feedback.crash_days c
WHERE c.project IN (SELECT project FROM grafana.projects);
