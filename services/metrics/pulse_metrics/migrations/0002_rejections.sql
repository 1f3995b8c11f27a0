-- Events refused at ingest (from pulse.deadletter.v1), kept 7 days for GET /v1/projects/{project}/rejections.
CREATE TABLE metrics.rejections (
    letter_id   uuid        PRIMARY KEY,
    project     text        NOT NULL,
    rejected_at timestamptz NOT NULL,
    code        text        NOT NULL,
    stream      text,
    message_id  text,
    reason      text        NOT NULL,
    -- The refused bytes, cut to a sample size and decoded leniently, for a developer to see what was sent.
    payload     text        NOT NULL
);
CREATE INDEX rejections_by_project_time ON metrics.rejections (project, rejected_at DESC);
