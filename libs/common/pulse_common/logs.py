"""Process-wide logging set-up: one line per record, never payloads or keys (callers log ids and counts only)."""

import logging


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # aiokafka logs every reconnect attempt at ERROR; its failures reach us as exceptions anyway.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.getLevelName(level)))
