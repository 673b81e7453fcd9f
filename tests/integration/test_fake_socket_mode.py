"""The fake Slack server's Socket Mode side, spoken to by a raw socket and by slack_sdk's
builtin client (the one Bolt's SocketModeHandler uses in production)."""

import base64
import json
import os
import socket
import time
from urllib.parse import urlparse

import pytest
from slack_sdk import WebClient
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.devtools.fake_slack import (
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    Frame,
    encode_frame,
    read_frame,
    socket_envelope,
    websocket_accept,
)

MASK = b"\x0f\xa0\x55\x3c"


def open_websocket(url):
    """Connect and handshake like a client; returns the socket and a frame reader."""
    parsed = urlparse(url)
    sock = socket.create_connection((parsed.hostname, parsed.port), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET {parsed.path}?{parsed.query} HTTP/1.1\r\nHost: {parsed.hostname}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    stream = sock.makefile("rb")
    status = stream.readline()
    headers = {}
    while (line := stream.readline().strip()) != b"":
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    assert status.startswith(b"HTTP/1.1 101"), status
    assert headers["sec-websocket-accept"] == websocket_accept(key)
    return sock, stream.read


def send_masked(sock, opcode, payload, fin=True):
    sock.sendall(encode_frame(opcode, payload, mask_key=MASK, fin=fin))


def test_connections_open_hands_out_a_socket_url_on_the_fake(fake_slack):
    response = WebClient(base_url=fake_slack.url).apps_connections_open(app_token="xapp-1")
    url = urlparse(response["url"])
    assert (url.scheme, url.hostname, url.path) == ("ws", "127.0.0.1", "/socket-mode")
    assert url.port == urlparse(fake_slack.root).port


def test_raw_client_gets_hello_pongs_and_its_acks_recorded(fake_slack):
    sock, read = open_websocket(fake_slack.socket_url())
    with sock:
        hello = read_frame(read)
        assert hello.opcode == OP_TEXT and json.loads(hello.payload)["type"] == "hello"
        assert fake_slack.wait_for_socket_client(timeout=5)

        send_masked(sock, OP_PING, b"session:1700000000.5")
        assert read_frame(read) == Frame(OP_PONG, b"session:1700000000.5")

        envelope = socket_envelope("slash_commands", {"command": "/cost", "text": "x" * 500})
        fake_slack.socket_send(envelope)
        pushed = read_frame(read)
        assert pushed.opcode == OP_TEXT and json.loads(pushed.payload) == envelope

        ack = json.dumps({"envelope_id": envelope["envelope_id"], "payload": {"text": "ok"}})
        send_masked(sock, OP_TEXT, ack[:10].encode(), fin=False)  # a fragmented message
        send_masked(sock, OP_CONTINUATION, ack[10:].encode())
        acks = fake_slack.wait_for_socket_acks(envelope["envelope_id"], timeout=5)
        assert acks == [{"envelope_id": envelope["envelope_id"], "payload": {"text": "ok"}}]

        send_masked(sock, OP_CLOSE, b"\x03\xe8")
        assert read_frame(read) == Frame(OP_CLOSE, b"\x03\xe8")
        assert read_frame(read) is None
    deadline = time.time() + 5
    while fake_slack.socket_clients() and time.time() < deadline:
        time.sleep(0.01)
    assert fake_slack.socket_clients() == 0


def test_a_plain_get_on_the_socket_path_is_refused(fake_slack):
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(fake_slack.root + "/socket-mode", timeout=5)
    assert err.value.code == 400


def test_socket_send_without_a_client_says_so(fake_slack):
    with pytest.raises(RuntimeError, match="no Socket Mode client"):
        fake_slack.socket_send(socket_envelope("events_api", {}))


@pytest.fixture
def sdk_client(fake_slack):
    client = SocketModeClient(
        app_token="xapp-1-test", web_client=WebClient(base_url=fake_slack.url), ping_interval=1
    )
    yield client
    # Closing the server side first wakes the client's reader instead of waiting out its
    # 3-second receive timeout.
    client.auto_reconnect_enabled = client.default_auto_reconnect_enabled = False
    fake_slack.stop()
    client.close()


def test_slack_sdk_client_receives_envelopes_acks_them_and_keeps_its_ping_pong(
    fake_slack, sdk_client
):
    received = []

    def acknowledge(client, request):
        received.append(request)
        response = SocketModeResponse(request.envelope_id, payload={"text": "y" * 300})
        client.send_socket_mode_response(response)

    sdk_client.socket_mode_request_listeners.append(acknowledge)
    sdk_client.connect()
    assert fake_slack.wait_for_socket_client(timeout=5)

    envelope = socket_envelope("events_api", {"type": "event_callback", "blob": "z" * 70000})
    fake_slack.socket_send(envelope)
    [ack] = fake_slack.wait_for_socket_acks(envelope["envelope_id"], timeout=5)
    assert ack["payload"] == {"text": "y" * 300}
    assert received[0].payload == envelope["payload"]

    # The client pings on connect; a matching pong sets its liveness clock.
    deadline = time.time() + 5
    while sdk_client.current_session.last_ping_pong_time is None and time.time() < deadline:
        time.sleep(0.01)
    assert sdk_client.current_session.last_ping_pong_time is not None


def test_stopping_the_fake_closes_its_connections(sdk_client):
    from bot.devtools.fake_slack import FakeSlack

    fake = FakeSlack().start()
    sdk_client.web_client = WebClient(base_url=fake.url)
    sdk_client.auto_reconnect_enabled = sdk_client.default_auto_reconnect_enabled = False
    sdk_client.connect()
    assert fake.wait_for_socket_client(timeout=5)
    fake.stop()
    deadline = time.time() + 5
    while sdk_client.is_connected() and time.time() < deadline:
        time.sleep(0.01)
    assert not sdk_client.is_connected()
