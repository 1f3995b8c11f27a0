"""parse_envelope: the Sentry envelope format (a JSON header line, then items with an optional ``length``)."""

import pytest

from pulse_ingest.envelope import Envelope, EnvelopeItem, InvalidEnvelope, parse_envelope

HEADER = b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc","sent_at":"2026-03-01T12:00:00Z"}'
HEADER_VALUE = {"event_id": "9ec79c33ec9942ab8353589fcb2e04dc", "sent_at": "2026-03-01T12:00:00Z"}


def _items(*items: tuple[str, bytes]) -> list[EnvelopeItem]:
    return [EnvelopeItem(item_type, payload) for item_type, payload in items]


@pytest.mark.parametrize(
    ("body", "expected_items"),
    [
        pytest.param(HEADER, [], id="header-only-no-newline"),
        pytest.param(HEADER + b"\n", [], id="header-only-with-newline"),
        pytest.param(
            HEADER + b'\n{"type":"session","length":13}\n{"sid":"s-1"}\n',
            _items(("session", b'{"sid":"s-1"}')),
            id="one-item-with-length",
        ),
        pytest.param(
            HEADER + b'\n{"type":"session","length":13}\n{"sid":"s-1"}\n{"type":"sessions","length":2}\n{}\n',
            _items(("session", b'{"sid":"s-1"}'), ("sessions", b"{}")),
            id="two-items-with-length",
        ),
        pytest.param(
            HEADER + b'\n{"type":"session"}\n{"sid":"s-1"}\n{"type":"event"}\n{"a":1}\n',
            _items(("session", b'{"sid":"s-1"}'), ("event", b'{"a":1}')),
            id="items-without-length-run-to-end-of-line",
        ),
        pytest.param(
            HEADER + b'\n{"type":"session"}\n{"sid":"s-1"}\n{"type":"event"}\n{"a":1}',
            _items(("session", b'{"sid":"s-1"}'), ("event", b'{"a":1}')),
            id="last-item-without-length-no-trailing-newline",
        ),
        pytest.param(
            HEADER + b'\n{"type":"session","length":13}\n{"sid":"s-1"}',
            _items(("session", b'{"sid":"s-1"}')),
            id="last-item-with-length-no-trailing-newline",
        ),
        pytest.param(
            HEADER + b'\n{"type":"attachment","length":11}\nline1\nline2\n{"type":"event"}\n{}\n',
            _items(("attachment", b"line1\nline2"), ("event", b"{}")),
            id="payload-with-newline-when-length-given",
        ),
        pytest.param(
            HEADER + b'\n{"type":"attachment","length":3}\n\n\n\n',
            _items(("attachment", b"\n\n\n")),
            id="payload-of-only-newlines",
        ),
        pytest.param(
            HEADER + b'\n{"type":"attachment","length":0}\n\n{"type":"event"}\n{}\n',
            _items(("attachment", b""), ("event", b"{}")),
            id="zero-length-item-then-another",
        ),
        pytest.param(
            HEADER + b'\n\n{"type":"session"}\n{"sid":"s-1"}\n\n\n{"type":"event","length":2}\n{}\n\n',
            _items(("session", b'{"sid":"s-1"}'), ("event", b"{}")),
            id="blank-lines-between-items",
        ),
        pytest.param(
            HEADER + b'\n{"type":"event"}\n\n',
            _items(("event", b"")),
            id="empty-payload-without-length",
        ),
        pytest.param(
            HEADER + b'\n{"type":"event","length":4}\n\xff\x00\xfe\n',
            _items(("event", b"\xff\x00\xfe\n")),
            id="binary-payload-counted-in-bytes",
        ),
        pytest.param(
            HEADER + '\n{"type":"event","length":7}\n"ünï"\n'.encode(),
            _items(("event", '"ünï"'.encode())),
            id="length-counts-bytes-not-characters",
        ),
        pytest.param(
            HEADER + b'\n{"type":"event","length":2,"content_type":"application/json"}\n{}\n',
            _items(("event", b"{}")),
            id="extra-item-header-fields-ignored",
        ),
    ],
)
def test_valid_envelopes(body: bytes, expected_items: list[EnvelopeItem]) -> None:
    envelope = parse_envelope(body)
    assert envelope == Envelope(HEADER_VALUE, expected_items)


def test_empty_header_object_is_allowed() -> None:
    assert parse_envelope(b'{}\n{"type":"event"}\n{}\n') == Envelope({}, _items(("event", b"{}")))


def test_last_item_with_zero_length_and_no_trailing_newline() -> None:
    # The implicit-length form of the same item at the end of the body parses (to an empty payload, see
    # test_valid_envelopes); a declared length of 0 there is just as well within the envelope.
    assert parse_envelope(b'{}\n{"type":"attachment","length":0}') == Envelope({}, _items(("attachment", b"")))


@pytest.mark.parametrize(
    ("body", "message_part"),
    [
        pytest.param(b"", "the envelope is empty", id="empty"),
        pytest.param(b"   \n\n", "the envelope is empty", id="whitespace-only"),
        pytest.param(b"not json\n", "the envelope header is not JSON", id="header-not-json"),
        pytest.param(b'{"event_id":\n', "the envelope header is not JSON", id="header-truncated"),
        pytest.param(b"[1, 2]\n", "the envelope header is not a JSON object", id="header-array"),
        pytest.param(b'"text"\n', "the envelope header is not a JSON object", id="header-string"),
        pytest.param(b'{}\n{"length":2}\n{}\n', "item 0 has no type", id="item-without-type"),
        pytest.param(b'{}\n{"type":7}\n{}\n', "item 0 has no type", id="item-type-not-string"),
        pytest.param(
            b'{}\n{"type":"event"}\n{}\n{"length":2}\n{}\n', "item 1 has no type", id="second-item-without-type"
        ),
        pytest.param(b"{}\nnot json\n{}\n", "the header of item 0 is not JSON", id="item-header-not-json"),
        pytest.param(b"{}\n[]\n{}\n", "the header of item 0 is not a JSON object", id="item-header-array"),
        pytest.param(
            b'{}\n{"type":"event"}\n{}\nnope\n', "the header of item 1 is not JSON", id="second-item-header-not-json"
        ),
        pytest.param(b'{}\n{"type":"event","length":5}\nab', "item 0 declares length 5", id="length-beyond-end"),
        pytest.param(
            b'{}\n{"type":"event","length":3}\nab\n{"type":"event","length":9}\nab',
            "item 1 declares length 9",
            id="second-length-beyond-end",
        ),
        pytest.param(
            b'{}\n{"type":"event","length":-1}\nab\n',
            "item 0 has length -1: it must be a whole number",
            id="negative-length",
        ),
        pytest.param(
            b'{}\n{"type":"event","length":"2"}\nab\n',
            "item 0 has length '2': it must be a whole number",
            id="string-length",
        ),
        pytest.param(
            b'{}\n{"type":"event","length":1.5}\nab\n',
            "item 0 has length 1.5: it must be a whole number",
            id="float-length",
        ),
        pytest.param(
            b'{}\n{"type":"event","length":2.0}\nab\n',
            "item 0 has length 2.0: it must be a whole number",
            id="integral-float",
        ),
        pytest.param(
            b'{}\n{"type":"event","length":[2]}\nab\n',
            "item 0 has length [2]: it must be a whole number",
            id="list-length",
        ),
    ],
)
def test_invalid_envelopes(body: bytes, message_part: str) -> None:
    with pytest.raises(InvalidEnvelope) as caught:
        parse_envelope(body)
    assert message_part in str(caught.value)


@pytest.mark.parametrize(
    "length",
    [
        pytest.param(b"-1", id="negative"),
        pytest.param(b'"2"', id="string"),
        pytest.param(b"1.5", id="float"),
    ],
)
def test_malformed_length_is_not_reported_as_beyond_the_end(length: bytes) -> None:
    # A negative or non-integer length is malformed, whatever the size of the body: the message must say so rather
    # than claim the item runs past the envelope's end.
    body = b'{}\n{"type":"event","length":' + length + b"}\n" + b"x" * 100 + b"\n"
    with pytest.raises(InvalidEnvelope) as caught:
        parse_envelope(body)
    assert "beyond the envelope's end" not in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        # Bodies that would parse if true/false were taken as lengths 1 and 0.
        pytest.param(b'{}\n{"type":"event","length":true}\nx\n', id="true"),
        pytest.param(b'{}\n{"type":"event","length":false}\n\n', id="false"),
    ],
)
def test_boolean_length_is_rejected(body: bytes) -> None:
    # JSON true/false are not integers (Python's bool being an int subclass must not make them lengths 1 and 0).
    with pytest.raises(InvalidEnvelope) as caught:
        parse_envelope(body)
    assert "item 0" in str(caught.value)


def test_invalid_envelope_is_a_value_error() -> None:
    assert issubclass(InvalidEnvelope, ValueError)
