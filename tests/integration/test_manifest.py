"""Every command and event in manifest.yml has a registered listener, and the reverse."""

import pathlib

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _manifest():
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def _registered(app):
    commands, events = set(), set()
    for listener in app._listeners:
        for matcher in listener.matchers:
            func = getattr(matcher, "func", None)
            closure = dict(zip(func.__code__.co_freevars, [c.cell_contents for c in func.__closure__ or []], strict=False)) if func else {}
            constraints = closure.get("constraints") or closure.get("command") or closure.get("event_type")
            kind = func.__qualname__ if func else ""
            if "command" in kind and isinstance(constraints, str):
                commands.add(constraints)
            elif "event" in kind:
                if isinstance(constraints, str):
                    events.add(constraints)
                elif isinstance(constraints, dict) and "type" in constraints:
                    events.add(constraints["type"])
    return commands, events


def test_manifest_and_listeners_match(make_app):
    manifest = _manifest()
    app = make_app().app
    commands, events = _registered(app)
    declared_commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    declared_events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    # message.im is delivered as a `message` event with channel_type "im".
    listened_events = {"message.im" if e == "message" else e for e in events}
    assert declared_commands == commands
    assert declared_events == listened_events


def test_manifest_has_what_slack_requires():
    manifest = _manifest()
    assert manifest["display_information"]["name"] == "Penny"
    assert manifest["features"]["bot_user"]["display_name"] == "Penny"
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
    for command in manifest["features"]["slash_commands"]:
        assert command["usage_hint"] and command["description"]
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "app_mentions:read", "im:history"} <= scopes


def test_every_lazy_listener_runs_once_per_delivery(make_app):
    """A lazy listener without the once-only guard would answer Slack's retries twice."""
    app = make_app().app
    lazy = [fn for listener in app._listeners for fn in listener.lazy_functions]
    assert lazy
    unguarded = [fn.__name__ for fn in lazy if fn.__code__.co_name != "run_once"]
    assert unguarded == []
