-- The feedback service's own schema (its projections: 0002).
CREATE SCHEMA IF NOT EXISTS feedback;
