"""The metrics service: usage and session events into Postgres projections, and the read APIs over them."""
