"""HTTP mode: Slack requests on POST /slack/events, health on GET /healthz, served by waitress."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.deps import Deps

logger = logging.getLogger(__name__)

StartResponse = Callable[..., Any]


def build_wsgi_app(
    app: App, deps: Deps
) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """A WSGI application routing /slack/events to Bolt and answering /healthz."""
    slack = SlackRequestHandler(app, path="/slack/events")

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/healthz" and method in {"GET", "HEAD"}:
            return _health(deps, start_response)
        if path == "/slack/events" and method != "POST":
            return _plain(start_response, "405 Method Not Allowed", "POST only")
        return slack(environ, start_response)

    return wsgi


def _health(deps: Deps, start_response: StartResponse) -> Iterable[bytes]:
    healthy = deps.store.is_healthy()
    body = json.dumps({"ok": healthy, "store": "open" if healthy else "unavailable"}).encode()
    status = "200 OK" if healthy else "503 Service Unavailable"
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def _plain(start_response: StartResponse, status: str, text: str) -> Iterable[bytes]:
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def freeze_startup_objects() -> None:
    """Move everything built at start-up (modules, boto3 and Strands models) out of the garbage
    collector's view, so that a full collection during a burst of requests stays short."""
    import gc

    gc.collect()
    gc.freeze()


def serve_http(
    app: App, deps: Deps, *, host: str = "0.0.0.0", port: int = 3000, threads: int = 16
) -> None:
    """Serve until interrupted (waitress: a production WSGI server, not Bolt's dev server)."""
    import sys

    from waitress import serve

    # Acks are short and latency-bound while answers after the ack are long: a shorter GIL
    # switch interval lets a waiting ack thread run sooner (Slack's 3-second deadline).
    sys.setswitchinterval(0.001)
    freeze_startup_objects()
    logger.info("host=<%s>, port=<%d> | serving Slack requests on /slack/events", host, port)
    serve(
        build_wsgi_app(app, deps), host=host, port=port, threads=threads, ident="penny", _quiet=True
    )


def start_health_server(deps: Deps, *, host: str = "0.0.0.0", port: int = 3000) -> None:
    """In Socket Mode, serve only GET /healthz (in a daemon thread) for container health checks.

    Slack requests never arrive over HTTP in this mode, so /slack/events is not served at all.
    """
    import threading

    from waitress import serve

    def health_only(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            return _health(deps, start_response)
        return _plain(
            start_response, "404 Not Found", "Socket Mode: only /healthz is served over HTTP"
        )

    thread = threading.Thread(
        target=serve,
        args=(health_only,),
        kwargs={"host": host, "port": port, "threads": 2, "_quiet": True},
        name="penny-health",
        daemon=True,
    )
    thread.start()
