-- People erased at their project's request (DELETE /v1/projects/{project}/users/{distinct_id}): ingest refuses
-- their further events until `pulse user unsuppress`. The erasure itself is a user_deleted event on every event
-- topic, so a projection rebuilt from the log erases them again.
CREATE TABLE control.suppressed_users (
    project       text        NOT NULL REFERENCES control.projects (project) ON DELETE CASCADE,
    distinct_id   text        NOT NULL,
    suppressed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project, distinct_id)
);
