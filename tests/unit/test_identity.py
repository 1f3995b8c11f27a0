"""Event ids (product.md §2): UUIDv5 of project and messageId, or a fresh id without a messageId."""

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulse_common.identity import EVENT_ID_NAMESPACE, ProjectEventIds, event_id_for


@pytest.mark.parametrize(
    ("project", "message_id", "expected"),
    [
        # Golden values: the namespace is fixed for Pulse's lifetime, so these ids must never change.
        pytest.param("acme", "msg-1", uuid.UUID("be4563be-3711-5803-b0be-de904fd56d98"), id="acme-msg-1"),
        pytest.param("globex", "msg-1", uuid.UUID("8f4fb27e-7a98-5325-858b-86b13a19ebc3"), id="globex-msg-1"),
    ],
)
def test_golden_ids(project: str, message_id: str, expected: uuid.UUID) -> None:
    assert event_id_for(project, message_id) == expected


def test_namespace_is_fixed() -> None:
    assert uuid.UUID("5d1f6c3e-8a0b-4f59-9a57-2f0b6a0c7e11") == EVENT_ID_NAMESPACE


@pytest.mark.parametrize(
    ("project", "message_id"),
    [
        ("acme", "msg-1"),
        ("acme", ""),
        ("acme", "ünïcödé-✓"),
        ("a", "b" * 1000),
    ],
)
def test_same_project_and_message_id_give_the_same_uuid5(project: str, message_id: str) -> None:
    first = event_id_for(project, message_id)
    assert first == event_id_for(project, message_id)
    assert first.version == 5


@pytest.mark.parametrize(
    ("a", "b"),
    [
        pytest.param(("acme", "msg-1"), ("globex", "msg-1"), id="different-project"),
        pytest.param(("acme", "msg-1"), ("acme", "msg-2"), id="different-message-id"),
        pytest.param(("acme", "msg-1"), ("acme", "MSG-1"), id="case-matters"),
        # The separator keeps (project, messageId) pairs apart when their concatenations agree.
        pytest.param(("ab", "c"), ("a", "bc"), id="no-concatenation-collision"),
        pytest.param(("acme", "msg-1"), ("acme", "msg-1 "), id="trailing-space"),
    ],
)
def test_different_inputs_give_different_ids(a: tuple[str, str], b: tuple[str, str]) -> None:
    assert event_id_for(*a) != event_id_for(*b)


@pytest.mark.parametrize("project", ["acme", "globex"])
def test_no_message_id_gives_fresh_random_ids(project: str) -> None:
    ids = {event_id_for(project, None) for _ in range(100)}
    assert len(ids) == 100
    assert {i.version for i in ids} == {4}


@settings(max_examples=300, deadline=None)
@given(project=st.text(min_size=1, max_size=40), message_id=st.text(max_size=200))
def test_project_event_ids_are_the_text_of_event_id_for(project: str, message_id: str) -> None:
    assert ProjectEventIds(project).of(message_id) == str(event_id_for(project, message_id))
