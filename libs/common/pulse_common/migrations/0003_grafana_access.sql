-- Grafana reads the `grafana` schema only: views each service owns through its migrations, so projections can
-- change without breaking dashboards. A Grafana database role is granted SELECT on that schema's views and no
-- table (`pulse grafana grant ROLE PROJECT...`), and every view shows only the rows of the projects granted to the
-- roles the reader has the privileges of (control.grafana_access). The views are security barriers: a filter a
-- reader writes cannot see rows of other projects before the views' own filter removed them.
CREATE SCHEMA grafana;

CREATE TABLE control.grafana_access (
    role    name NOT NULL,
    project text NOT NULL REFERENCES control.projects (project) ON DELETE CASCADE,
    PRIMARY KEY (role, project)
);

CREATE VIEW grafana.projects WITH (security_barrier) AS
SELECT p.project, p.timezone
FROM control.projects p
WHERE EXISTS (
    -- By oid: a role dropped after its grant is simply nobody (pg_has_role by name would fail every read).
    SELECT 1 FROM control.grafana_access a JOIN pg_catalog.pg_roles r ON r.rolname = a.role
    WHERE a.project = p.project AND pg_has_role(r.oid, 'USAGE')
);
