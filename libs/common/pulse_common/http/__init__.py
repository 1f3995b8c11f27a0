"""Pieces every Pulse HTTP service shares: errors, health, authentication, metrics."""
