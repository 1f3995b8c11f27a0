-- A project's mapping of event names to features (`pulse feature map`), applied to events received from
-- `mapped_at` on. It is project configuration read by both the metrics and the feedback service, so it lives in
-- the control plane (metrics migration 0008 moves the rows the metrics service kept before).
CREATE TABLE control.feature_map (
    project   text        NOT NULL REFERENCES control.projects (project),
    event     text        NOT NULL,
    feature   text        NOT NULL,
    mapped_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (project, event, mapped_at)
);
