"""A bare Bolt app that only acknowledges /cost, served exactly like Penny (waitress, 16 threads).

The baseline for bench/ack_latency.py: `python bench/bare_bolt_app.py PORT SECRET SLACK_API_URL`.
"""

import logging
import sys

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from waitress import serve


def main() -> None:
    port, secret, api_url = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    logging.basicConfig(level=logging.WARNING)
    client = WebClient(token="xoxb-bare", base_url=api_url)
    app = App(client=client, signing_secret=secret, token_verification_enabled=False)

    @app.command("/cost")
    def ack_only(ack):
        ack(text="ok")

    handler = SlackRequestHandler(app)

    def wsgi(environ, start_response):
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        return handler(environ, start_response)

    serve(wsgi, host="127.0.0.1", port=port, threads=16, _quiet=True)


if __name__ == "__main__":
    main()
