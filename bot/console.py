"""`python -m bot console [--demo]`: talk to Penny in a terminal, through the real app.

Like a chat framework's text backend: what you type becomes a correctly signed Slack
request dispatched into the same Bolt app production runs; Penny's Web API calls go to a
local fake Slack server, and what it posted is rendered here as text. Buttons are pressed
by typing their number. `--demo` starts a built-in demo AWS account (moto plus a Cost
Explorer fake) and points boto3 at it with AWS_ENDPOINT_URL, so the AWS code path is the
production one.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from slack_bolt import App
from slack_bolt.request import BoltRequest

from bot.app import TrackingExecutor, create_app, start_background_work
from bot.config import load_settings
from bot.deps import Deps
from bot.devtools import slack_requests as sr
from bot.devtools.fake_slack import BOT_USER_ID, FakeSlack
from bot.devtools.render import Button, mrkdwn_to_text, render_blocks

CONSOLE_HELP = """Type a slash command (/cost this-month, /cost help, /penny help), a question for Penny
(a DM: "how much did we spend on RDS last month?"), or @Penny ... for a channel mention.
Press a button by typing its number. Console commands:
  !as USER_ID        act as another Slack user (default U0ALICE; U0BOB is a second approver)
  !channel CHANNEL   post from another channel (default C0FINOPS)
  !jobs list         scheduled jobs and their next run;  !jobs run NAME  run one now
  !help              this text;  !quit  leave (Ctrl-D works too)"""

DEMO_USERS = ("U0ALICE", "U0BOB")


@dataclass
class ConsoleSession:
    """A running console: the fake Slack server, the real app, and what is on screen."""

    app: App
    deps: Deps
    fake: FakeSlack
    executor: TrackingExecutor
    secret: str
    out: TextIO
    user: str = "U0ALICE"
    channel: str = "C0FINOPS"
    buttons: dict[int, tuple[Button, str, str]] = field(default_factory=dict)
    seen_calls: int = 0
    modals_answered: int = 0
    cleanup: list[Callable[[], None]] = field(default_factory=list)

    # -- sending -----------------------------------------------------------------------------

    def dispatch(self, body: str, content_type: str = sr.FORM) -> dict[str, Any] | None:
        """Sign and dispatch one request; wait for the work after the ack; render what changed."""
        headers = sr.signed_headers(self.secret, body, content_type=content_type)
        response = self.app.dispatch(BoltRequest(body=body, headers=headers))
        ack = _ack_payload(response.body)
        if response.status >= 400:
            self.say(f"(Slack would have shown an error: HTTP {response.status})")
        elif ack and ack.get("text"):
            self.say("  (only you) " + mrkdwn_to_text(ack["text"]))
        self.executor.wait_idle(timeout=120)
        self.render_new_calls()
        return ack

    def slash(self, line: str) -> None:
        """Send `/command text` as a slash command."""
        command, _, text = line.partition(" ")
        self.dispatch(
            sr.slash_command_body(
                command,
                text.strip(),
                user_id=self.user,
                channel_id=self.channel,
                response_url=self.fake.response_url("console"),
            )
        )

    def message(self, text: str) -> None:
        """Send a DM to Penny, or an app_mention when the text starts with @Penny."""
        if text.lower().startswith("@penny"):
            event = {
                "type": "app_mention",
                "user": self.user,
                "text": f"<@{BOT_USER_ID}> {text[6:].strip()}",
                "channel": self.channel,
                "ts": _fresh_ts(),
                "event_ts": _fresh_ts(),
            }
        else:
            event = {
                "type": "message",
                "channel_type": "im",
                "user": self.user,
                "text": text,
                "channel": "D0" + self.user[1:],
                "ts": _fresh_ts(),
                "event_ts": _fresh_ts(),
            }
        self.dispatch(sr.event_body(event), content_type=sr.JSON)

    def press(self, number: int, ask: Callable[[str], str]) -> None:
        """Press a numbered button (asking for confirmation when the button has a confirm dialog)."""
        if number not in self.buttons:
            self.say(f"There is no button [{number}] on screen.")
            return
        button, channel, ts = self.buttons[number]
        if button.confirm:
            title = mrkdwn_to_text(
                str((button.confirm.get("text") or {}).get("text", "Are you sure?"))
            )
            if ask(f"  {title} [y/N] ").strip().lower() not in {"y", "yes"}:
                self.say("  (cancelled)")
                return
        message = next(
            (m for m in self.fake.messages.get(channel, []) if m["ts"] == ts), {"ts": ts}
        )
        self.dispatch(
            sr.block_actions_body(
                button.action_id,
                button.value,
                user_id=self.user,
                channel_id=channel,
                message_ts=ts,
                message=message,
                block_id=button.block_id,
                response_url=self.fake.response_url("console"),
            )
        )
        self._answer_open_modals(ask)

    # -- showing -----------------------------------------------------------------------------

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def render_new_calls(self) -> None:
        """Print every Web API call made since the last render, as a person would see it."""
        calls = self.fake.calls[self.seen_calls :]
        self.seen_calls += len(calls)
        for call in calls:
            body = call.body
            if call.method == "chat.postMessage":
                ts = self._ts_of_post(body)
                self._show(
                    f"Penny in {body.get('channel')}"
                    + (" (thread)" if body.get("thread_ts") else ""),
                    body,
                    body.get("channel", ""),
                    ts,
                )
            elif call.method == "chat.update":
                self._show(
                    f"Penny updated a message in {body.get('channel')}",
                    body,
                    body.get("channel", ""),
                    body.get("ts", ""),
                )
            elif call.method == "chat.postEphemeral":
                self._show("Penny (only you can see this)", body, body.get("channel", ""), "")
            elif call.method == "response_url":
                visible = (
                    "in channel"
                    if body.get("response_type") == "in_channel"
                    else "only you can see this"
                )
                self._show(f"Penny ({visible})", body, self.channel, "")
            elif call.method in {"files.completeUploadExternal", "files.upload"}:
                self.say(f"  [file uploaded to {body.get('channel_id') or body.get('channels')}]")
            elif call.method == "views.publish":
                self._show("App Home", body.get("view") or {}, "", "")

    def _ts_of_post(self, body: dict[str, Any]) -> str:
        msgs = self.fake.messages.get(body.get("channel", ""), [])
        return msgs[-1]["ts"] if msgs else ""

    def _show(self, title: str, body: dict[str, Any], channel: str, ts: str) -> None:
        self.say(f"\n── {title} " + "─" * max(0, 60 - len(title)))
        blocks = body.get("blocks") or []
        if not blocks:
            self.say("  " + mrkdwn_to_text(str(body.get("text", ""))))
            return
        lines, buttons = render_blocks(blocks, first_button=max(self.buttons, default=0) + 1)
        for line in lines:
            self.say(line)
        for button in buttons:
            self.buttons[button.number] = (button, channel, ts)

    def _answer_open_modals(self, ask: Callable[[str], str]) -> None:
        """If the click opened a modal (e.g. a deny reason), ask for its inputs and submit it."""
        opened = self.fake.calls_to("views.open")
        if len(opened) <= self.modals_answered:
            return
        self.modals_answered = len(opened)
        view = opened[-1].body.get("view") or {}
        title = mrkdwn_to_text(str((view.get("title") or {}).get("text", "Penny")))
        self.say(f"\n── Modal: {title} " + "─" * 30)
        values: dict[str, Any] = {}
        for block in view.get("blocks") or []:
            if block.get("type") != "input":
                continue
            label = mrkdwn_to_text(str((block.get("label") or {}).get("text", "")))
            element = block.get("element") or {}
            answer = ask(f"  {label}: ")
            values[block.get("block_id", "")] = {
                element.get("action_id", ""): {
                    "type": element.get("type", "plain_text_input"),
                    "value": answer,
                }
            }
        self.dispatch(
            sr.view_submission_body(
                view.get("callback_id", ""),
                values,
                private_metadata=view.get("private_metadata", ""),
                user_id=self.user,
            )
        )

    def close(self) -> None:
        for step in reversed(self.cleanup):
            step()


def _ack_payload(body: str) -> dict[str, Any] | None:
    if not body:
        return None
    try:
        value = json.loads(body)
        return value if isinstance(value, dict) else None
    except ValueError:
        return {"text": body}


_ts_counter = [0]


def _fresh_ts() -> str:
    import time

    _ts_counter[0] += 1
    return f"{int(time.time())}.{_ts_counter[0]:06d}"


def start_console(*, demo: bool, out: TextIO = sys.stdout) -> ConsoleSession:
    """Start the fake Slack server (and the demo AWS account), then the real app against them."""
    fake = FakeSlack().start()
    cleanup: list[Callable[[], None]] = [fake.stop]
    env = dict(os.environ)
    if demo:
        env.update(_start_demo_aws(cleanup))
        env.setdefault("PENNY_APPROVERS", ",".join(DEMO_USERS))
        env["PENNY_DB"] = os.path.join(tempfile.mkdtemp(prefix="penny-demo-"), "penny.db")
    secret = secrets.token_hex(16)
    env.update(
        {
            "SLACK_BOT_TOKEN": "xoxb-console",
            "SLACK_SIGNING_SECRET": secret,
            "SLACK_API_URL": fake.url,
        }
    )
    env.pop("SLACK_APP_TOKEN", None)
    settings = load_settings(env, require_signing_secret=True)
    executor = TrackingExecutor()
    app, deps = create_app(settings, executor=executor)
    # Restart recovery and the agent's listeners, but no scheduler: a console session should
    # not post catch-up reports; `!jobs run NAME` runs a job on demand instead.
    start_background_work(deps, skip=("schedules.runtime",))
    return ConsoleSession(
        app=app, deps=deps, fake=fake, executor=executor, secret=secret, out=out, cleanup=cleanup
    )


def _start_demo_aws(cleanup: list[Callable[[], None]]) -> dict[str, str]:
    """Start the demo account and point this process's boto3 at it (the console is its own composition root)."""
    from datetime import date

    from bot.devtools.demo_aws import start_demo_aws

    try:
        import moto.server  # noqa: F401
    except ImportError:
        raise SystemExit(
            "The demo AWS account needs moto: pip install 'penny[demo]' (make demo does it)."
        ) from None
    # moto would otherwise load hundreds of public AMIs and their snapshots into the demo account.
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    demo = start_demo_aws(date.today())
    cleanup.append(demo.stop)
    os.environ.update(demo.env)
    return dict(demo.env)


def handle_line(session: ConsoleSession, line: str, ask: Callable[[str], str]) -> bool:
    """Act on one typed line; False when the user wants to leave."""
    line = line.strip()
    if not line:
        return True
    if line in {"!quit", "!exit", "quit", "exit"}:
        return False
    if line == "!help":
        session.say(CONSOLE_HELP)
    elif line.startswith("!as "):
        session.user = line.split()[1]
        session.say(f"  (you are now {session.user})")
    elif line.startswith("!channel "):
        session.channel = line.split()[1]
        session.say(f"  (posting from {session.channel})")
    elif line.startswith("!jobs"):
        _console_jobs(session, line.split()[1:])
    elif line.isdigit():
        session.press(int(line), ask)
    elif line.startswith("/"):
        session.slash(line)
    else:
        session.message(line)
    return True


def _console_jobs(session: ConsoleSession, argv: list[str]) -> None:
    try:
        import importlib

        cli = importlib.import_module("schedules.cli")
    except ImportError:
        session.say("  Scheduled jobs are not available in this build.")
        return
    if argv[:1] == ["run"] and len(argv) == 2:
        cli.run_job(session.deps, argv[1], out=session.out)
        session.executor.wait_idle(timeout=120)
        session.render_new_calls()
    else:
        cli.list_jobs(session.deps, out=session.out)


def run_console(*, demo: bool, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    """The interactive loop."""
    session = start_console(demo=demo, out=out)
    interactive = stdin.isatty()

    def ask(prompt: str) -> str:
        if interactive:
            return input(prompt)
        session.say(prompt)
        return stdin.readline().rstrip("\n")

    session.say(
        "Penny console"
        + (" (demo AWS account)" if demo else "")
        + f" — you are {session.user} in {session.channel}. !help for help."
    )
    try:
        while True:
            try:
                line = input("you> ") if interactive else stdin.readline()
            except EOFError:
                break
            if not interactive:
                if not line:
                    break
                session.say(f"you> {line.rstrip()}")
            if not handle_line(session, line, ask):
                break
    except KeyboardInterrupt:
        pass
    finally:
        session.close()
    return 0
