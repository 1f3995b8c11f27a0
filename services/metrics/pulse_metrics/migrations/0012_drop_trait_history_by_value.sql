-- No read uses it: a segment's per-user path reads the trait's history in user order (the primary key), and the
-- consumer reads users' histories by the primary key. Keeping it cost every identify a write, and the index on a
-- jsonb column of 3,000,000 rows took 40 s to build in the benchmark's load.
DROP INDEX IF EXISTS metrics.trait_history_by_value;
