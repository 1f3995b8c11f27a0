"""The feedback service: NPS / CSAT / CES projections and their read APIs (health only for now)."""
