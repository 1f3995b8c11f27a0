-- Control plane: projects (the tenants) and their keys, stored only as hashes.
CREATE SCHEMA IF NOT EXISTS control;

CREATE TABLE control.projects (
    project    text        PRIMARY KEY CHECK (project ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
    timezone   text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE control.api_keys (
    key_hash   text        PRIMARY KEY,
    project    text        NOT NULL REFERENCES control.projects (project),
    kind       text        NOT NULL CHECK (kind IN ('write', 'read', 'admin')),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX api_keys_project ON control.api_keys (project);

-- Tracking for the projection runner: dedup claims and stored offsets, written in the same transaction as the
-- projection's rows. `consumer` is the projection's name, so two projections never share claims or offsets.
CREATE SCHEMA IF NOT EXISTS tracking;

CREATE TABLE tracking.event_claims (
    consumer   text        NOT NULL,
    event_id   uuid        NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

CREATE TABLE tracking.partition_offsets (
    consumer    text        NOT NULL,
    topic       text        NOT NULL,
    partition   integer     NOT NULL,
    -- The next offset to apply: every record below it has had its effect.
    next_offset bigint      NOT NULL DEFAULT 0 CHECK (next_offset >= 0),
    -- Arrival time up to which every event of this partition has been applied (NULL until first caught up).
    as_of       timestamptz,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, topic, partition)
);
