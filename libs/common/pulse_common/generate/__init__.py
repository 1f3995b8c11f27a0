"""``pulse generate``: a realistic, deterministic product history (users, features, releases, sessions, feedback)
sent through the ingest API or written straight to the topics."""
