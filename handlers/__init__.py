"""Slack listeners. Each module listed in HANDLER_MODULES exposes `register(app, deps)`."""

HANDLER_MODULES: list[str] = [
    "handlers.middleware",
    "handlers.cost",
    "handlers.penny",
    "handlers.approvals",
    "handlers.ask",
    "handlers.schedules",
    "handlers.home",
]
