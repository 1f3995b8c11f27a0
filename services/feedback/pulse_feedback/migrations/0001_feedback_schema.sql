-- The feedback service's own schema; its projections arrive with the satisfaction issue.
CREATE SCHEMA IF NOT EXISTS feedback;
