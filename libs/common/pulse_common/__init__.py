"""Pulse's shared library: event models, codec, settings, Kafka and Postgres plumbing, the projection runner."""
