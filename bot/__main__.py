"""`python -m bot ...`: start Penny, or run one of its maintenance commands.

python -m bot                  Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP
python -m bot serve            HTTP mode (POST /slack/events, GET /healthz)
python -m bot socket           Socket Mode
python -m bot console [--demo] a local shell; --demo serves a built-in demo AWS account
python -m bot jobs list        schedules with their next run
python -m bot jobs run NAME    run one job now, with the same once-only rules
python -m bot audit verify     check the audit log's hash chain (exit 1 when broken)
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

from bot.config import ConfigError, Settings, load_settings

logger = logging.getLogger("bot")
T = TypeVar("T")


def configure_logging(log_file: str | None = None, default_level: str = "INFO") -> None:
    """Structured, single-line logs on stderr (or a file); level from PENNY_LOG_LEVEL."""
    level = os.environ.get("PENNY_LOG_LEVEL", default_level).upper()
    target = {"filename": log_file} if log_file else {"stream": sys.stderr}
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s | %(message)s",
        **target,
    )
    for noisy in ("botocore", "urllib3", "waitress.queue"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line, as documented in the module docstring."""
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Penny, the AWS cost and ChatOps bot for Slack."
    )
    sub = parser.add_subparsers(dest="command")
    serve = sub.add_parser("serve", help="HTTP mode behind waitress")
    serve.add_argument("--host", default="0.0.0.0")
    sub.add_parser("socket", help="Socket Mode")
    console = sub.add_parser("console", help="a local shell that renders Block Kit as text")
    console.add_argument("--demo", action="store_true", help="use the built-in demo AWS account")
    jobs = sub.add_parser("jobs", help="scheduled jobs")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True)
    jobs_sub.add_parser("list", help="list schedules with their next run")
    run = jobs_sub.add_parser("run", help="run one job now")
    run.add_argument("name")
    audit = sub.add_parser("audit", help="audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser("verify", help="check the hash chain")
    return parser.parse_args(argv)


def load_config(require_signing_secret: bool = False) -> Settings:
    """Read .env (without overriding the real environment) and build Settings, or exit with every problem."""
    from dotenv import load_dotenv

    load_dotenv(override=False)
    try:
        return load_settings(os.environ, require_signing_secret=require_signing_secret)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(2) from None


def build_or_exit(build: Callable[[], T]) -> T:
    """Build the app or its deps; a configuration problem found there exits with one clear message."""
    try:
        return build()
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        raise SystemExit(2) from None


def run_serve(host: str) -> int:
    """HTTP mode."""
    from bot.app import create_app, start_background_work, stop_background_work
    from bot.server import serve_http

    settings = load_config(require_signing_secret=True)
    app, deps = build_or_exit(lambda: create_app(settings))
    logger.info("settings=<%s> | starting in HTTP mode", settings.redacted())
    start_background_work(deps)
    try:
        serve_http(app, deps, host=host, port=settings.port)
    finally:
        stop_background_work(deps)
    return 0


def run_socket() -> int:
    """Socket Mode (needs SLACK_APP_TOKEN)."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.app import create_app, start_background_work, stop_background_work
    from bot.server import freeze_startup_objects, start_health_server

    settings = load_config()
    if not settings.slack_app_token:
        print(
            "Socket Mode needs SLACK_APP_TOKEN (xapp-..., scope connections:write).",
            file=sys.stderr,
        )
        return 2
    app, deps = build_or_exit(lambda: create_app(settings))
    logger.info("settings=<%s> | starting in Socket Mode", settings.redacted())
    start_background_work(deps)
    start_health_server(deps, port=settings.port)
    freeze_startup_objects()
    try:
        SocketModeHandler(app, settings.slack_app_token).start()
    finally:
        stop_background_work(deps)
    return 0


def run_jobs(args: argparse.Namespace) -> int:
    """`jobs list` and `jobs run NAME`."""
    from bot.app import build_deps

    cli = importlib.import_module("schedules.cli")
    settings = load_config()
    deps = build_or_exit(lambda: build_deps(settings))
    if args.jobs_command == "list":
        return cli.list_jobs(deps, out=sys.stdout)
    return cli.run_job(deps, args.name, out=sys.stdout)


def run_audit_verify() -> int:
    """`audit verify`: exit 0 when the chain is intact, 1 when broken."""
    from bot.store import open_store

    audit = importlib.import_module("bot.store.audit")
    settings = load_config()
    ok, message = audit.verify_audit_chain(open_store(settings.db_path))
    print(message)
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m bot`."""
    from dotenv import load_dotenv

    args = parse_args(sys.argv[1:] if argv is None else argv)
    # The console's screen is the conversation, and maintenance commands print their own
    # result: only the serving modes log at INFO by default.
    configure_logging(
        "penny-console.log" if args.command == "console" else None,
        default_level="WARNING" if args.command in {"jobs", "audit"} else "INFO",
    )
    load_dotenv(override=False)
    if args.command == "console":
        from bot.console import run_console

        return run_console(demo=args.demo)
    if args.command == "serve":
        return run_serve(args.host)
    if args.command == "socket":
        return run_socket()
    if args.command == "jobs":
        return run_jobs(args)
    if args.command == "audit":
        return run_audit_verify()
    return run_socket() if os.environ.get("SLACK_APP_TOKEN") else run_serve("0.0.0.0")


if __name__ == "__main__":
    raise SystemExit(main())
