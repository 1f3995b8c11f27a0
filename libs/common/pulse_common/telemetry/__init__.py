"""Prometheus metrics: every name declared once (catalog), HTTP request instrumentation, consumer progress."""
