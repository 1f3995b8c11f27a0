"""The feedback service: NPS / CSAT / CES projections and their read APIs (product.md §6)."""
