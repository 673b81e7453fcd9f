"""The fake Slack Web API server lives in bot/devtools (the console uses it too)."""

from bot.devtools.fake_slack import BOT_ID, BOT_USER_ID, TEAM_ID, Call, FakeSlack

__all__ = ["BOT_ID", "BOT_USER_ID", "TEAM_ID", "Call", "FakeSlack"]
