-- What Grafana reads of the metrics service (common 0003: the grafana schema and its access rule). Columns here
-- are a contract with the dashboards in deploy/grafana: add, never rename or drop without a new view. Figures
-- follow product.md §4 and §5 exactly as the read APIs compute them (tests/deploy compare the two).

-- Users counted by activity links: distinct users active over local days [a, b] = sum(users) of the links with
-- day in [a, b] and previous_day < a (previous_day: the user's previous active day, -infinity for their first).
CREATE VIEW grafana.activity_links WITH (security_barrier) AS
SELECT l.project, l.day, l.previous_day, l.users
FROM metrics.activity_links l
WHERE l.users <> 0 AND l.project IN (SELECT project FROM grafana.projects);

-- The same per feature (a user counts on each local day they used the feature).
CREATE VIEW grafana.feature_links WITH (security_barrier) AS
SELECT l.project, l.feature, l.day, l.previous_day, l.users
FROM metrics.feature_links l
WHERE l.users <> 0 AND l.project IN (SELECT project FROM grafana.projects);

-- Per feature and local day: users who used it and its events.
CREATE VIEW grafana.feature_days WITH (security_barrier) AS
SELECT coalesce(u.project, e.project) AS project, coalesce(u.feature, e.feature) AS feature,
       coalesce(u.day, e.day) AS day, coalesce(u.users, 0)::bigint AS users, coalesce(e.events, 0)::bigint AS events
FROM (
    SELECT project, feature, day, sum(users) AS users FROM metrics.feature_links WHERE users <> 0
    GROUP BY project, feature, day
) u
FULL JOIN metrics.feature_day_events e USING (project, feature, day)
WHERE coalesce(u.project, e.project) IN (SELECT project FROM grafana.projects);

-- DAU, WAU (7 local days), MAU (30) and stickiness (DAU / MAU) of every local day from the project's first active
-- day to today in its timezone.
CREATE VIEW grafana.active_users WITH (security_barrier) AS
SELECT p.project, d.day::date AS day, u.dau, u.wau, u.mau,
       CASE WHEN u.mau > 0 THEN u.dau::float8 / u.mau END AS stickiness
FROM grafana.projects p
CROSS JOIN LATERAL generate_series(
    (SELECT min(l.day) FROM metrics.activity_links l WHERE l.project = p.project AND l.users <> 0),
    (now() AT TIME ZONE p.timezone)::date, interval '1 day'
) AS d(day)
CROSS JOIN LATERAL (
    SELECT coalesce(sum(l.users) FILTER (WHERE l.day = d.day::date), 0)::bigint AS dau,
           coalesce(sum(l.users) FILTER (WHERE l.day >= d.day::date - 6 AND l.previous_day < d.day::date - 6), 0)::bigint
               AS wau,
           coalesce(sum(l.users) FILTER (WHERE l.previous_day < d.day::date - 29), 0)::bigint AS mau
    FROM metrics.activity_links l
    WHERE l.project = p.project AND l.day BETWEEN d.day::date - 29 AND d.day::date
) u;

-- Lifecycle per day, week (ISO, from Monday) and month: new, returning (active this and the previous period),
-- resurrecting (active this period, not the previous, not new) and dormant (active the previous period and not
-- this one, negative).
CREATE VIEW grafana.lifecycle WITH (security_barrier) AS
SELECT p.project, i.interval, s.start::date AS period,
       c.new, c.returning, c.active - c.returning - c.new AS resurrecting, -(c.previous - c.returning) AS dormant
FROM grafana.projects p
CROSS JOIN (VALUES ('day'), ('week'), ('month')) AS i(interval)
CROSS JOIN LATERAL generate_series(
    date_trunc(i.interval, (SELECT min(l.day) FROM metrics.activity_links l WHERE l.project = p.project AND l.users <> 0)),
    date_trunc(i.interval, now() AT TIME ZONE p.timezone), ('1 ' || i.interval)::interval
) AS s(start)
CROSS JOIN LATERAL (
    SELECT coalesce(sum(l.users) FILTER (WHERE l.day >= s.start AND l.previous_day < s.start), 0)::bigint AS active,
           coalesce(sum(l.users) FILTER (
               WHERE l.day < s.start AND l.previous_day < s.start - ('1 ' || i.interval)::interval), 0)::bigint
               AS previous,
           coalesce(sum(l.users) FILTER (
               WHERE l.day >= s.start AND l.previous_day >= s.start - ('1 ' || i.interval)::interval
                 AND l.previous_day < s.start), 0)::bigint AS returning,
           coalesce(sum(l.users) FILTER (WHERE l.day >= s.start AND l.previous_day = '-infinity'), 0)::bigint AS new
    FROM metrics.activity_links l
    WHERE l.project = p.project AND l.day >= s.start - ('1 ' || i.interval)::interval
      AND l.day < s.start + ('1 ' || i.interval)::interval
) c;

-- Retention ("on" mode): of each cohort (users by first active period), the share active in period N.
CREATE VIEW grafana.retention WITH (security_barrier) AS
SELECT c.project, c.interval, c.cohort, c.period,
       CASE c.interval
           WHEN 'day' THEN c.period - c.cohort
           WHEN 'week' THEN (c.period - c.cohort) / 7
           ELSE ((extract(year FROM c.period) - extract(year FROM c.cohort)) * 12
                 + extract(month FROM c.period) - extract(month FROM c.cohort))::int
       END AS period_number,
       s.active::bigint AS size, c.active::bigint AS active, c.active::float8 / nullif(s.active, 0) AS rate
FROM metrics.cohort_periods c
JOIN metrics.cohort_periods s
  ON s.project = c.project AND s.interval = c.interval AND s.cohort = c.cohort AND s.period = s.cohort
WHERE c.active <> 0 AND c.project IN (SELECT project FROM grafana.projects);

-- Release health per local day, release and environment (product.md §5): sessions by health, and users (distinct
-- within the day) with a crashed or an unhealthy session.
CREATE VIEW grafana.release_days WITH (security_barrier) AS
SELECT h.project, h.environment, h.release, h.day, h.sessions, h.errored, h.crashed, h.abnormal,
       h.sessions - h.errored - h.crashed - h.abnormal AS healthy,
       coalesce(u.users, 0)::bigint AS users, coalesce(u.crashed_users, 0)::bigint AS crashed_users,
       coalesce(u.unhealthy_users, 0)::bigint AS unhealthy_users
FROM (
    SELECT project, environment, release, hour::date AS day, sum(sessions)::bigint AS sessions,
           sum(errored)::bigint AS errored, sum(crashed)::bigint AS crashed, sum(abnormal)::bigint AS abnormal
    FROM metrics.release_hours GROUP BY project, environment, release, hour::date
) h
LEFT JOIN (
    SELECT project, environment, release, hour::date AS day,
           sum(users) FILTER (WHERE kind = 'any') AS users,
           sum(users) FILTER (WHERE kind = 'crashed') AS crashed_users,
           sum(users) FILTER (WHERE kind = 'unhealthy') AS unhealthy_users
    FROM metrics.release_user_links WHERE previous_day < hour::date
    GROUP BY project, environment, release, hour::date
) u USING (project, environment, release, day)
WHERE h.sessions <> 0 AND h.project IN (SELECT project FROM grafana.projects);

-- Each release's adoption (share of its environment's sessions and users over the last 24 hours, to the end of the
-- current local hour) and stage: adopted with >= 10 % of the environment's sessions over the last 6 hours that had
-- any, replaced when it had that share over some earlier 6 hours, low otherwise.
CREATE VIEW grafana.release_adoption WITH (security_barrier) AS
WITH bounds AS (
    SELECT p.project, date_trunc('hour', now() AT TIME ZONE p.timezone) + interval '1 hour' AS end_hour
    FROM grafana.projects p
),
hours AS (
    SELECT h.project, h.environment, h.release, h.hour, h.sessions, b.end_hour
    FROM metrics.release_hours h JOIN bounds b USING (project)
    WHERE h.sessions <> 0 AND h.hour < b.end_hour
),
grid AS (  -- every hour of each environment from its first session to the end, for each of its releases
    SELECT r.project, r.environment, r.release, g.at
    FROM (SELECT project, environment, min(hour) AS first_hour, min(end_hour) AS end_hour FROM hours
          GROUP BY project, environment) e
    JOIN (SELECT DISTINCT project, environment, release FROM hours) r USING (project, environment)
    CROSS JOIN LATERAL generate_series(e.first_hour, e.end_hour - interval '1 hour', interval '1 hour') AS g(at)
),
windows AS (
    SELECT g.project, g.environment, g.release, g.at,
           sum(coalesce(h.sessions, 0)) OVER (
               PARTITION BY g.project, g.environment, g.release ORDER BY g.at ROWS BETWEEN 5 PRECEDING AND CURRENT ROW
           ) AS part
    FROM grid g
    LEFT JOIN hours h ON h.project = g.project AND h.environment = g.environment AND h.release = g.release
                     AND h.hour = g.at
),
shares AS (
    SELECT w.*, sum(part) OVER (PARTITION BY project, environment, at) AS whole FROM windows w
),
latest AS (  -- the last hour whose 6-hour window had sessions: no data changes no stage
    SELECT project, environment, max(at) AS at FROM shares WHERE whole > 0 GROUP BY project, environment
),
stages AS (
    SELECT s.project, s.environment, s.release,
           CASE
               WHEN bool_or(s.at = l.at AND s.part::float8 / s.whole >= 0.1) THEN 'adopted'
               WHEN bool_or(s.at < l.at AND s.whole > 0 AND s.part::float8 / s.whole >= 0.1) THEN 'replaced'
               ELSE 'low'
           END AS stage
    FROM shares s JOIN latest l USING (project, environment)
    GROUP BY s.project, s.environment, s.release
),
recent AS (
    SELECT h.project, h.environment, h.release, sum(h.sessions) FILTER (WHERE h.hour >= h.end_hour - interval '24 hours')
               AS sessions
    FROM hours h GROUP BY h.project, h.environment, h.release
),
users AS (
    SELECT u.project, u.environment, u.release, count(DISTINCT u.distinct_id) AS users
    FROM metrics.release_user_hours u JOIN bounds b USING (project)
    WHERE u.hour >= b.end_hour - interval '24 hours' AND u.hour < b.end_hour AND u.sessions > 0
    GROUP BY GROUPING SETS ((u.project, u.environment, u.release), (u.project, u.environment))
)
SELECT s.project, s.environment, s.release, s.stage,
       coalesce(r.sessions, 0)::bigint AS sessions_24h,
       coalesce(r.sessions, 0)::float8
           / nullif(sum(coalesce(r.sessions, 0)) OVER (PARTITION BY s.project, s.environment), 0) AS adoption_sessions,
       coalesce(ru.users, 0)::bigint AS users_24h,
       coalesce(ru.users, 0)::float8 / nullif(eu.users, 0) AS adoption_users
FROM stages s
JOIN recent r USING (project, environment, release)
LEFT JOIN users ru ON ru.project = s.project AND ru.environment = s.environment AND ru.release = s.release
LEFT JOIN users eu ON eu.project = s.project AND eu.environment = s.environment AND eu.release IS NULL;
