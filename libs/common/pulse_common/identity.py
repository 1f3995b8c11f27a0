"""Event ids (product.md §2): a client messageId becomes a UUIDv5 of project and messageId, so the same message
sent twice, at any distance in time, has one id; an event without one gets a fresh id."""

import hashlib
import uuid

# Fixed for Pulse's lifetime: changing it would give every past message a new id.
EVENT_ID_NAMESPACE = uuid.UUID("5d1f6c3e-8a0b-4f59-9a57-2f0b6a0c7e11")


def event_id_for(project: str, message_id: str | None) -> uuid.UUID:
    if message_id is None:
        return uuid.uuid4()
    return uuid5(EVENT_ID_NAMESPACE, f"{project}\x00{message_id}")


class ProjectEventIds:
    """One project's event ids as text (``str(event_id_for(project, …))``), for ingest's hot path: the sha1 digest is
    formatted straight into the canonical form, with no ``uuid.UUID`` built (and hashed) per event."""

    def __init__(self, project: str) -> None:
        # The hash of the common prefix, copied per id: cheaper than hashing the prefix again each time.
        self._prefixed = hashlib.sha1(EVENT_ID_NAMESPACE.bytes + f"{project}\x00".encode(), usedforsecurity=False)

    def of(self, message_id: str) -> str:
        hashed = self._prefixed.copy()
        hashed.update(message_id.encode())
        digest = hashed.hexdigest()
        # Version 5 in the 13th hex digit; the RFC 4122 variant (10xx) in the 17th.
        return (
            f"{digest[:8]}-{digest[8:12]}-5{digest[13:16]}-{_VARIANT_DIGIT[digest[16]]}{digest[17:20]}-{digest[20:32]}"
        )


_VARIANT_DIGIT = {digit: "89ab"[int(digit, 16) & 0b11] for digit in "0123456789abcdef"}


def uuid5(namespace: uuid.UUID, name: str) -> uuid.UUID:
    """RFC 4122 UUIDv5, equal to ``uuid.uuid5``, without its per-call import (it runs once per ingested event)."""
    digest = hashlib.sha1(namespace.bytes + name.encode(), usedforsecurity=False).digest()
    value = int.from_bytes(digest[:16])
    # Version 5 and the RFC 4122 variant, as uuid.UUID(version=5) sets them.
    value = (value & ~(0xF000 << 64) & ~(0xC000 << 48)) | (0x5000 << 64) | (0x8000 << 48)
    return uuid.UUID(int=value)
