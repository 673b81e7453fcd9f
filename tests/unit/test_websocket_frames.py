"""The fake Slack server's WebSocket framing (RFC 6455), checked against the RFC's own
example and against the frames slack_sdk's builtin Socket Mode client writes."""

import io

import pytest
from slack_sdk.socket_mode.builtin.internals import _build_data_frame_for_sending

from bot.devtools.fake_slack import (
    OP_CLOSE,
    OP_PING,
    OP_TEXT,
    Frame,
    encode_frame,
    read_frame,
    websocket_accept,
)

SIZES = [0, 1, 125, 126, 65535, 65536]


def test_accept_key_is_the_rfc_6455_example():
    assert websocket_accept("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


@pytest.mark.parametrize("size", [1, 125, 126, 4000, 65535])
def test_reads_the_masked_frames_slack_sdk_sends(size):
    text = "é" * (size // 2) + "a" * (size % 2)  # `size` bytes of UTF-8
    wire = _build_data_frame_for_sending(text, OP_TEXT)
    assert wire[1] & 0x80  # the client masks
    assert read_frame(io.BytesIO(wire).read) == Frame(OP_TEXT, text.encode())


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("mask_key", [None, b"\x01\x82\xff\x00"])
def test_frames_round_trip_at_every_length_encoding(size, mask_key):
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    wire = encode_frame(OP_PING, payload, mask_key=mask_key)
    assert bool(wire[1] & 0x80) == bool(mask_key)
    stream = io.BytesIO(wire + encode_frame(OP_CLOSE, b"\x03\xe8"))
    assert read_frame(stream.read) == Frame(OP_PING, payload)
    assert read_frame(stream.read) == Frame(OP_CLOSE, b"\x03\xe8")
    assert read_frame(stream.read) is None


def test_server_frames_use_the_shortest_length_and_no_mask():
    assert encode_frame(OP_TEXT, b"hi") == b"\x81\x02hi"
    assert encode_frame(OP_TEXT, b"x" * 126)[:4] == b"\x81\x7e\x00\x7e"
    assert encode_frame(OP_TEXT, b"x" * 65536)[:10] == b"\x81\x7f" + (65536).to_bytes(8, "big")


def test_a_fragment_keeps_its_fin_bit_clear():
    frame = read_frame(io.BytesIO(encode_frame(OP_TEXT, b"part", fin=False)).read)
    assert frame == Frame(OP_TEXT, b"part", fin=False)


@pytest.mark.parametrize("cut", [1, 2, 5, 9])
def test_a_truncated_frame_reads_as_end_of_stream(cut):
    wire = encode_frame(OP_TEXT, b"hello", mask_key=b"abcd")
    assert read_frame(io.BytesIO(wire[:cut]).read) is None
