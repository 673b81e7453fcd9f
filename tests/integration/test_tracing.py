"""With OTEL_EXPORTER_OTLP_ENDPOINT set, the agent's spans reach an OTLP/HTTP collector."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.agent.service import answer_question, install_agent, on_start
from bot.config import ConfigError
from tests.conftest import make_settings
from tests.fakes.scripted_model import ScriptedModel, text


class Collector:
    """A fake OTLP/HTTP collector on 127.0.0.1 recording each export request."""

    def __init__(self):
        self.requests: list[tuple[str, str, bytes]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                owner.requests.append((self.path, self.headers.get("Content-Type", ""), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def collector():
    running = Collector()
    yield running
    running.server.shutdown()


def test_agent_spans_are_exported_to_the_configured_collector(make_app, collector):
    app = make_app(OTEL_EXPORTER_OTLP_ENDPOINT=collector.url)
    on_start(app.deps)
    provider = app.deps.extras["tracer_provider"]
    assert provider is not None
    try:
        install_agent(app.deps, ScriptedModel([text("Your spend is on track.")]))
        answer_question(app.deps, "are we on track?", "U0ALICE", "C0FINOPS", "1700000000.000200")
        assert provider.force_flush(10_000)
    finally:
        # The tracer provider is global to the process: stop exporting before the collector goes.
        provider.shutdown()
    exported = [r for r in collector.requests if r[0] == "/v1/traces"]
    assert exported and exported[0][1] == "application/x-protobuf"
    assert any(
        b"execute_event_loop_cycle" in body or b"invoke_agent" in body for _, _, body in exported
    )


def test_without_an_endpoint_nothing_is_set_up(make_app):
    app = make_app()
    on_start(app.deps)
    assert app.deps.extras["tracer_provider"] is None


def test_a_malformed_endpoint_is_a_configuration_problem():
    with pytest.raises(ConfigError, match="OTEL_EXPORTER_OTLP_ENDPOINT"):
        make_settings(OTEL_EXPORTER_OTLP_ENDPOINT="collector:4318")
