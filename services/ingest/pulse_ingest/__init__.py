"""The ingest service: Segment-compatible HTTP API in, Kafka (acks=all) out, a receipt per event back."""
