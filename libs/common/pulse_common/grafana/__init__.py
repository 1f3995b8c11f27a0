"""Grafana as code: database access for Grafana roles, and the dashboards, generated into deploy/grafana."""
