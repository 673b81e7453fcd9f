"""Slack listeners. Each module listed in HANDLER_MODULES exposes `register(app, deps)`.

Every lazy listener is wrapped with `handlers.once.once_per_delivery`, so a retried or
duplicated delivery is handled once (a test checks that none is registered without it).
"""

HANDLER_MODULES: list[str] = [
    "handlers.cost",
    "handlers.penny",
    "handlers.approvals",
    "handlers.ask",
    "handlers.schedules",
    "handlers.home",
]
